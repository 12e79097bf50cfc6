"""`PortfolioAllocator`: the seed's multi-strategy fund, driven in this process.

It owns the strategies' ledgers and drives the fund book: `execute_bar` runs the shared
strategy step for every strategy, then feeds the book; lifecycle and rebalance calls turn
the book's plans into ledger transfers. Nothing here reads the clock or does I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from core.book import DEFAULT_MAX_CONSECUTIVE_ERRORS, FundBook
from core.deposits import fund_deposits
from core.errors import InvalidInputError, describe
from core.fund_metrics import correlation_matrix, portfolio_metrics, strategy_metrics
from core.held_capital import allocatable_performances, due_rebalance
from core.history import DEFAULT_HISTORY_BARS, BarData, MarketHistory
from core.ledger import Ledger
from core.market import Slice, check_next_timestamp
from core.money import ZERO, in_fund_decimals, strategy_decimals, to_decimal
from core.performance import StrategyPerformance
from core.rebalance_plan import RebalancePlan
from core.rebalancer import AllocationRebalancer
from core.records import (
    QUARANTINE_CANCEL_REASON,
    RebalanceRecord,
    RebalanceTrigger,
    StrategyAllocation,
    StrategyState,
)
from core.step import (
    StepReport,
    StrategyContext,
    initialize_strategy,
    run_step,
    strategy_problem,
)
from core.transfers import withdraw_from

LedgerFactory = Callable[[str], Ledger]


class PortfolioAllocator:
    """A fund: a reserve account plus strategies, each trading through its own ledger.

    `total_capital` starts as the fund's capital and is, from then on, the fund's marked
    value (reserve + strategies), so profits compound into later allocations.
    """

    @in_fund_decimals
    def __init__(
        self,
        total_capital: Decimal,
        name: str = "Portfolio",
        *,
        ledger_factory: LedgerFactory | None = None,
        lookback_window: int = 252,
        periods_per_year: float = 252,
        risk_free_rate: float = 0.0,
        max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        history_bars: int = DEFAULT_HISTORY_BARS,
    ) -> None:
        capital = to_decimal(total_capital, field="total_capital")
        if capital <= ZERO:
            raise InvalidInputError(f"total_capital must be > 0, got {capital}")
        self.name = name
        self._new_ledger: LedgerFactory = ledger_factory or (lambda _sid: Ledger())
        reserve = self._new_ledger("__reserve__")
        reserve.transfer_in(capital)
        self._book = FundBook(
            reserve,
            max_consecutive_errors=max_consecutive_errors,
            lookback_window=lookback_window,
            periods_per_year=periods_per_year,
            risk_free_rate=risk_free_rate,
        )
        self._history = MarketHistory(history_bars)
        self.execution_count = 0
        self.removed: dict[str, Decimal] = {}

    # ---- seed attributes ---------------------------------------------------------------
    @property
    def strategies(self) -> dict[str, StrategyAllocation]:
        return dict(self._book.records)

    @property
    @in_fund_decimals
    def total_capital(self) -> Decimal:
        return self._book.fund_value

    @property
    @in_fund_decimals
    def allocated_capital(self) -> Decimal:
        return self._book.allocated_capital

    @property
    def current_timestamp(self) -> datetime | None:
        return self._book.current_timestamp

    @property
    def reserve(self) -> Ledger:
        """The fund's own account: unallocated cash and any positions it took over."""
        return self._book.reserve

    @property
    def rebalance_history(self) -> list[RebalanceRecord]:
        return list(self._book.rebalances)

    @property
    def book(self) -> FundBook:
        return self._book

    # ---- lifecycle ---------------------------------------------------------------------
    @in_fund_decimals
    def add_strategy(
        self,
        strategy_id: str,
        strategy: Any,
        allocation_pct: Decimal,
        metadata: dict[str, Any] | None = None,
    ) -> StrategyAllocation:
        """Fund a new strategy with `allocation_pct` of the fund's current value."""
        weight, amount = self._book.validate_add(strategy_id, allocation_pct)
        problem = strategy_problem(strategy)
        if problem is not None:
            raise InvalidInputError(f"strategy {strategy_id} {problem}")
        context = StrategyContext(strategy_id)
        decimals = strategy_decimals()
        try:
            initialize_strategy(strategy, context, decimals)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit from strategy code is its failure too
            raise InvalidInputError(
                f"strategy {strategy_id} failed to initialize: {describe(exc)}"
            ) from exc
        ledger = self._new_ledger(strategy_id)
        self.reserve.transfer_out(amount)  # cash only: `validate_add` saw it is there
        ledger.transfer_in(amount)
        record = self._book.admit(
            strategy_id,
            weight,
            amount,
            strategy=strategy,
            ledger=ledger,
            context=context,
            metadata=metadata,
        )
        record.decimals = decimals
        return record

    @in_fund_decimals
    def pause_strategy(self, strategy_id: str, reason: str = "paused by operator") -> None:
        """Stop trading: open orders are cancelled, positions kept and still marked."""
        rec = self._book.validate_pause(strategy_id)
        _ledger(rec).cancel_all_orders("strategy paused")
        self._book.mark_paused(rec, reason)

    @in_fund_decimals
    def resume_strategy(self, strategy_id: str) -> None:
        """Trade again from the next bar."""
        rec = self._book.validate_resume(strategy_id)
        self._book.mark_resumed(rec)

    @in_fund_decimals
    def remove_strategy(self, strategy_id: str, liquidate: bool = True) -> Decimal:
        """Close a strategy and return everything it holds to the reserve.

        With `liquidate=True` positions are sold at the current mark (costs applied);
        otherwise they move into the reserve, which marks them like any ledger. A strategy
        left in debt has its debt paid by the reserve; when the reserve cannot pay,
        `InsufficientFundsError` is raised and nothing has changed (nor when anything else,
        a `KeyboardInterrupt` included, interrupts it).
        Returns the value that came back to the fund.
        """
        rec = self._book.record(strategy_id)
        ledger = _ledger(rec)
        kept = copy.deepcopy((ledger, self._book.reserve)), rec.state, rec.value
        try:
            final_value = self._empty(rec, ledger, liquidate)
        except BaseException:  # a Ctrl-C half-way too: nothing has changed
            (rec.ledger, self._book.reserve), rec.state, rec.value = kept
            raise
        rec.state = StrategyState.STOPPED
        del self._book.records[strategy_id]
        self.removed[strategy_id] = final_value
        return final_value

    def _empty(self, rec: StrategyAllocation, ledger: Ledger, liquidate: bool) -> Decimal:
        before = self._book.fund_value
        rec.state = StrategyState.LIQUIDATING
        ledger.cancel_all_orders("strategy removed")
        costs = ZERO
        if liquidate:
            costs = ledger.liquidate().costs
        moved = ZERO
        for position in ledger.release_positions():
            moved += position.market_value
            self.reserve.add_position(
                position.asset, position.amount, position.cost_basis, position.last_price
            )
        cash = ledger.cash
        if cash > ZERO:
            ledger.transfer_out(cash)
            self.reserve.transfer_in(cash)
        elif cash < ZERO:
            costs += self.reserve.transfer_out(-cash).costs
            ledger.transfer_in(-cash)
        rec.value = ledger.portfolio_value  # nothing is left in it
        self._book.check_conservation(before, costs, f"remove {rec.strategy_id}")
        return moved + cash

    # ---- the bar loop ------------------------------------------------------------------
    @in_fund_decimals
    def execute_bar(self, timestamp: datetime, data: Mapping[str, Any] | Slice) -> None:
        """Run every strategy on one bar, in insertion order.

        Pending orders fill against this bar, every ledger (paused ones too) is marked to
        its close, RUNNING strategies get `handle_data(context, data, ledger)`, and every
        strategy's performance records the bar. Anything one strategy's step raises (its
        code, or fills and marks the arithmetic cannot compute) is that strategy's error,
        counted towards its quarantine (see `core.step.run_step`); it never stops the fund.
        A strategy quarantined by this bar has its open orders cancelled at once
        (`QUARANTINE_CANCEL_REASON`) and does not trade again until resumed, as in the
        daemon. `SystemExit` (any `BaseException`) from strategy code quarantines it.

        The bar is atomic for the fund: a `KeyboardInterrupt` (Ctrl-C) in the middle of it
        finishes the bar without running any more strategy code (`_finish_bar`), so every
        strategy recorded it and `execution_count` moved with `current_timestamp`, and only
        then propagates. The next call continues with the next bar.
        """
        self._execute_bar(timestamp, data)

    def _execute_bar(self, timestamp: datetime, data: Mapping[str, Any] | Slice) -> None:
        timestamp = check_next_timestamp(timestamp, self._book.current_timestamp)
        market = Slice.coerce(timestamp, data)
        self._history.append(market)
        bar_data = BarData(market, self._history)
        self._book.current_timestamp = timestamp
        self._book.mark_reserve(market)  # a bar it cannot take leaves the reserve's marks
        records = list(self._book.records.values())
        running = StrategyState.RUNNING
        on_report = self._book.on_report
        done = 0
        try:
            for rec in records:  # `_step`, inlined: this loop is the core's hot path
                ledger: Ledger = rec.ledger  # type: ignore[assignment]
                report = run_step(
                    rec.strategy_id,
                    rec.strategy,
                    rec.context,  # type: ignore[arg-type]
                    ledger,
                    bar_data,
                    trading=rec.state is running,
                    interrupts=True,
                    decimals=rec.decimals,
                )
                if on_report(report):  # quarantined: the daemon's rule, the same bytes
                    ledger.cancel_all_orders(QUARANTINE_CANCEL_REASON)
                done += 1
        except KeyboardInterrupt:
            self._finish_bar(records[done:], bar_data)
            self.execution_count += 1
            raise
        self.execution_count += 1

    def _step(self, rec: StrategyAllocation, bar_data: BarData, *, trading: bool) -> None:
        ledger = _ledger(rec)
        report = run_step(
            rec.strategy_id,
            rec.strategy,
            rec.context,  # type: ignore[arg-type]
            ledger,
            bar_data,
            trading=trading,
            interrupts=True,
            decimals=rec.decimals,
        )
        if self._book.on_report(report):  # quarantined: the daemon's rule, the same bytes
            ledger.cancel_all_orders(QUARANTINE_CANCEL_REASON)

    def _finish_bar(self, rest: list[StrategyAllocation], bar_data: BarData) -> None:
        """After a Ctrl-C inside a bar: bring every strategy not done yet to the end of the
        bar without running strategy code, so the bar is whole (every ledger filled and
        marked, every strategy's performance recorded once) before the interrupt goes on.
        The strategy that was interrupted keeps what its `handle_data` did so far (as if it
        had raised), without counting an error; the later ones skip trading for this bar."""
        ts = bar_data.slice.ts
        for rec in rest:
            ledger = _ledger(rec)
            if _recorded(rec, ts):
                continue  # interrupted after its report was recorded
            if ledger.last_ts == ts:  # filled and marked; interrupted in handle_data
                report = StepReport(
                    rec.strategy_id, ts, ledger.portfolio_value, ledger.cash, (), False
                )
                self._book.on_report(report)
            else:
                self._step(rec, bar_data, trading=False)

    # ---- rebalancing -------------------------------------------------------------------
    @in_fund_decimals
    def rebalance(
        self,
        new_allocations: Mapping[str, Decimal],
        reason: str = "Manual rebalancing",
        trigger: RebalanceTrigger = RebalanceTrigger.MANUAL,
        *,
        min_transfer_pct: Decimal | None = None,
    ) -> RebalanceRecord:
        """Move capital so the named strategies hold the given fractions of the fund.

        Everything is validated before any money moves. Withdrawals run first (raising
        cash by selling positions pro rata when needed), then deposits from the reserve.
        The fund's value after is its value before minus the transaction costs, exactly.
        `trigger` (a closed set) says what started it, `reason` says why in words.
        `min_transfer_pct` (e.g. the rebalancer's): transfers smaller than that fraction of
        the fund's value are not made and are listed in the record's `skipped`; a target of
        0 always empties the strategy.
        """
        plan = self._book.plan_rebalance(
            new_allocations, reason, trigger, min_transfer_pct=min_transfer_pct
        )
        return self._apply(plan)

    def allocatable_performances(self) -> dict[str, StrategyPerformance]:
        """The performances to allocate among: RUNNING strategies only, in insertion
        order. Paused and quarantined strategies are left out, so their capital is held."""
        return allocatable_performances(self._book)

    @in_fund_decimals
    def rebalance_if_due(
        self, rebalancer: AllocationRebalancer, timestamp: datetime | None = None
    ) -> RebalanceRecord | None:
        """Rebalance among the running strategies if `rebalancer` says it is due.

        `timestamp` defaults to the last bar's. Drift is measured over the running
        strategies; their new targets share what the paused and quarantined strategies do
        not hold, and those keep their cash and positions exactly (see
        `core.held_capital`). Returns the rebalance made, or None.
        """
        when = timestamp if timestamp is not None else self._book.current_timestamp
        if when is None:
            raise InvalidInputError("rebalance_if_due needs a timestamp before the first bar")
        due = due_rebalance(self._book, rebalancer, when)
        if due is None:
            return None
        record = self.rebalance(
            due.targets,
            reason=due.reason,
            trigger=due.trigger,
            min_transfer_pct=rebalancer.min_transfer_pct,
        )
        due.record(rebalancer)
        return record

    def _apply(self, plan: RebalancePlan) -> RebalanceRecord:
        transfers: dict[str, Decimal] = {}
        costs = ZERO
        for sid, amount in plan.withdrawals:
            moved, cost = self._withdraw(sid, amount)
            transfers[sid] = -moved
            costs += cost
        deposits, reserve_costs = fund_deposits(self.reserve, plan.deposits)
        costs += reserve_costs
        for sid, amount in deposits:
            ledger = _ledger(self._book.records[sid])
            ledger.transfer_in(amount)
            self._book.settle_deposit(sid, amount, ledger.portfolio_value)
            transfers[sid] = amount
        return self._book.finish_rebalance(plan, transfers, costs)

    def _withdraw(self, sid: str, amount: Decimal | None) -> tuple[Decimal, Decimal]:
        ledger = _ledger(self._book.records[sid])
        moved, costs = withdraw_from(ledger, amount)
        self.reserve.transfer_in(moved)
        self._book.settle_withdrawal(sid, moved, costs, ledger.portfolio_value, ledger.cash)
        return moved, costs

    # ---- metrics -----------------------------------------------------------------------
    @in_fund_decimals
    def get_portfolio_metrics(self) -> dict[str, Any]:
        return portfolio_metrics(self._book)

    @in_fund_decimals
    def get_strategy_metrics(self) -> dict[str, dict[str, Any]]:
        return strategy_metrics(self._book)

    @in_fund_decimals
    def get_correlation_matrix(self) -> pd.DataFrame | None:
        return correlation_matrix(self._book)


def _recorded(rec: StrategyAllocation, ts: datetime) -> bool:
    timestamps = rec.performance.timestamps
    return bool(timestamps) and timestamps[-1] == ts


def _ledger(rec: StrategyAllocation) -> Ledger:
    if rec.ledger is None:
        raise InvalidInputError(f"strategy {rec.strategy_id} is not hosted in this process")
    return rec.ledger
