"""The fund book: the reserve account and the records of every strategy.

The book decides; it never touches a strategy's ledger. It validates lifecycle changes,
turns a rebalance into a *plan* of withdrawals and deposits, and settles what the hosts of
the strategies report back (step reports and transfer results), checking at every step that
no money was created or destroyed. `PortfolioAllocator` drives it with ledgers in this
process; the daemon drives the same book with ledgers in workers.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    InvariantViolation,
)
from core.ledger import Ledger
from core.market import Slice
from core.money import (
    ONE,
    WEIGHT_NOISE,
    ZERO,
    quantize_cash,
    quantize_weight,
    to_decimal,
)
from core.performance import StrategyPerformance
from core.rebalance_plan import RebalancePlan, plan_transfers
from core.records import RebalanceRecord, RebalanceTrigger, StrategyAllocation, StrategyState
from core.step import StepReport, StrategyContext
from core.transfer_threshold import check_min_transfer_pct

DEFAULT_MAX_CONSECUTIVE_ERRORS = 3


class FundBook:
    """Reserve + strategy records. All amounts Decimal; all checks before any change."""

    def __init__(
        self,
        reserve: Ledger,
        *,
        max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        lookback_window: int = 252,
        periods_per_year: float = 252,
        risk_free_rate: float = 0.0,
    ) -> None:
        if max_consecutive_errors < 1:
            raise InvalidInputError(
                f"max_consecutive_errors must be >= 1, got {max_consecutive_errors}"
            )
        self.reserve = reserve
        self.initial_capital = reserve.portfolio_value
        self.max_consecutive_errors = max_consecutive_errors
        self.lookback_window = lookback_window
        self.periods_per_year = periods_per_year
        self.risk_free_rate = risk_free_rate
        self.records: dict[str, StrategyAllocation] = {}
        self.rebalances: list[RebalanceRecord] = []
        self.current_timestamp: datetime | None = None
        self.targets_version = object()
        """A new object whenever a record is admitted or its target weight set: a reader
        that keeps something derived from the targets compares it with `is`."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Books pickled before `targets_version` existed get one."""
        self.__dict__.update(state)
        self.__dict__.setdefault("targets_version", object())

    # ---- valuation -------------------------------------------------------------------
    @property
    def fund_value(self) -> Decimal:
        return self.reserve.portfolio_value + sum((r.value for r in self.records.values()), ZERO)

    @property
    def allocated_capital(self) -> Decimal:
        return sum((r.allocated_capital for r in self.records.values()), ZERO)

    def current_weights(self) -> dict[str, Decimal]:
        """Each strategy's value as a fraction of the fund's value (Decimal, exact)."""
        total = self.fund_value
        if total <= ZERO:
            return {sid: ZERO for sid in self.records}
        return {sid: r.value / total for sid, r in self.records.items()}

    def record(self, strategy_id: str) -> StrategyAllocation:
        try:
            return self.records[strategy_id]
        except KeyError:
            raise InvalidInputError(f"Strategy {strategy_id} not found") from None

    # ---- adding ----------------------------------------------------------------------
    def validate_add(self, strategy_id: str, allocation_pct: object) -> tuple[Decimal, Decimal]:
        """Check a new strategy; return (weight, amount to move from the reserve)."""
        if not isinstance(strategy_id, str) or not strategy_id:
            raise InvalidInputError(f"strategy_id must be a non-empty string, got {strategy_id!r}")
        if strategy_id in self.records:
            raise InvalidInputError(f"Strategy {strategy_id} already exists")
        pct = to_decimal(allocation_pct, field="allocation_pct")
        if pct < ZERO:
            raise InvalidInputError(f"allocation_pct must be >= 0, got {pct}")
        current = sum(self.current_weights().values(), ZERO)
        if current + pct > ONE + WEIGHT_NOISE:
            raise InvalidInputError(
                f"Allocation would exceed 100%: current={float(current):.1%}, "
                f"new={float(pct):.1%}, total={float(current + pct):.1%}"
            )
        pct = quantize_weight(pct)
        amount = quantize_cash(pct * self.fund_value, ROUND_DOWN)
        cash = self.reserve.cash
        if amount > cash:  # never sell the reserve's holdings (at a cost) to fund an add
            raise InvalidInputError(
                f"cannot fund {strategy_id} with {amount}: the reserve has {cash} in cash "
                "(a rebalance sells what else it holds)"
            )
        return pct, amount

    def admit(
        self,
        strategy_id: str,
        weight: Decimal,
        amount: Decimal,
        *,
        strategy: Any = None,
        ledger: Ledger | None = None,
        context: StrategyContext | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> StrategyAllocation:
        """Enter a strategy funded with `amount`, already moved out of the reserve into it."""
        record = StrategyAllocation(
            strategy_id=strategy_id,
            strategy=strategy,
            allocated_capital=amount,
            ledger=ledger,
            performance=StrategyPerformance(
                strategy_id,
                self.lookback_window,
                periods_per_year=self.periods_per_year,
                risk_free_rate=self.risk_free_rate,
            ),
            state=StrategyState.RUNNING,
            metadata=dict(metadata or {}),
            created_at=self.current_timestamp,
            target_weight=weight,
            value=amount,
            cash=amount,
            context=context,
        )
        record.performance.update(self.current_timestamp, amount)
        self.records[strategy_id] = record
        self.targets_version = object()
        return record

    # ---- lifecycle -------------------------------------------------------------------
    def validate_pause(self, strategy_id: str) -> StrategyAllocation:
        rec = self.record(strategy_id)
        if rec.state is not StrategyState.RUNNING:
            raise InvalidTransitionError(
                f"Cannot pause strategy {strategy_id}: it is {rec.state.value}"
            )
        return rec

    def validate_resume(self, strategy_id: str) -> StrategyAllocation:
        rec = self.record(strategy_id)
        if rec.state is not StrategyState.PAUSED:
            raise InvalidTransitionError(
                f"Cannot resume strategy {strategy_id}: it is {rec.state.value}"
            )
        return rec

    def mark_paused(
        self, rec: StrategyAllocation, reason: str, *, quarantine: bool = False
    ) -> None:
        """Pause `rec`; `quarantine`: the fund paused it (errors, a fault), not an operator."""
        rec.state = StrategyState.PAUSED
        rec.pause_reason = reason
        rec.quarantined = quarantine

    def mark_resumed(self, rec: StrategyAllocation) -> None:
        rec.state = StrategyState.RUNNING
        rec.pause_reason = None
        rec.quarantined = False
        rec.consecutive_errors = 0

    # ---- per slice -------------------------------------------------------------------
    def mark_reserve(self, market: Slice) -> str | None:
        """Mark the reserve's positions to `market`. A bar the arithmetic cannot take (e.g.
        `decimal.Overflow`) leaves every mark of the reserve as it was: the error is returned
        (and the reserve marked again by the next slice), never raised."""
        try:
            self.reserve.mark(market)
        except ArithmeticError as exc:
            return f"{type(exc).__name__} while marking the reserve: {exc}"
        return None

    def on_report(self, report: StepReport) -> bool:
        """Record a strategy's step. Returns True when this report quarantined it."""
        rec = self.records[report.strategy_id]
        rec.performance.update(report.ts, report.value)  # first: it refuses what is not money
        rec.value = report.value
        rec.cash = report.cash
        if report.fault is not None:
            return self.quarantine(rec, report.fault)
        if report.error is None:
            if report.traded:
                rec.consecutive_errors = 0
            return False
        rec.error_count += 1
        rec.consecutive_errors += 1
        rec.last_error = report.error
        if rec.consecutive_errors >= self.max_consecutive_errors:
            self.mark_paused(
                rec,
                f"{rec.consecutive_errors} consecutive errors, last: {report.error}",
                quarantine=True,
            )
            return True
        return False

    def on_marks(
        self,
        ts: datetime,
        ids: Sequence[str],
        values: Sequence[Decimal],
        cash: Sequence[Decimal],
        not_trading: Container[str],
        skip: Container[int],
    ) -> None:
        """Record many steps that only marked to market (no fill, order, error or fault):
        what `on_report` does with such reports, for `ids[i]` at `values[i]`, `cash[i]`,
        except the indices in `skip` (their reports go through `on_report`)."""
        records = self.records
        for i, sid in enumerate(ids):
            if i in skip:
                continue
            rec = records[sid]
            value = rec.value = values[i]
            rec.cash = cash[i]
            rec.performance.update(ts, value)  # nothing for a copy: its host updates it
            if sid not in not_trading:
                rec.consecutive_errors = 0

    def quarantine(self, rec: StrategyAllocation, fault: str) -> bool:
        """A fault of the strategy: counted, and it is paused at once with the fault as
        the reason. Returns True when this paused it (it was running)."""
        rec.error_count += 1
        rec.consecutive_errors += 1
        rec.last_error = fault
        if rec.state is not StrategyState.RUNNING:
            return False
        self.mark_paused(rec, f"quarantined: {fault}", quarantine=True)
        return True

    # ---- transfers -------------------------------------------------------------------
    def settle_deposit(self, strategy_id: str, amount: Decimal, value_after: Decimal) -> None:
        rec = self.records[strategy_id]
        expected = rec.value + amount
        if value_after != expected:
            raise InvariantViolation(
                f"deposit of {amount} into {strategy_id}: value {value_after}, expected {expected}"
            )
        rec.value = value_after
        rec.cash += amount  # a deposit is cash only, without costs
        rec.allocated_capital += amount
        rec.performance.record_flow(amount)

    def settle_withdrawal(
        self,
        strategy_id: str,
        amount: Decimal,
        costs: Decimal,
        value_after: Decimal,
        cash_after: Decimal,
    ) -> None:
        """Book a withdrawal whose forced sales (if its cash was short) cost `costs`:
        the strategy's value and cash as its ledger reports them after it."""
        rec = self.records[strategy_id]
        expected = rec.value - amount - costs
        if value_after != expected:
            raise InvariantViolation(
                f"withdrawal of {amount} (costs {costs}) from {strategy_id}: "
                f"value {value_after}, expected {expected}"
            )
        rec.value = value_after
        rec.cash = cash_after
        rec.allocated_capital -= amount
        rec.performance.record_flow(-amount)

    def check_conservation(self, before: Decimal, costs: Decimal, what: str) -> Decimal:
        after = self.fund_value
        if after != before - costs:
            raise InvariantViolation(f"{what}: fund value {after} != {before} - costs {costs}")
        return after

    # ---- rebalancing -----------------------------------------------------------------
    def plan_rebalance(
        self,
        new_allocations: Mapping[str, object],
        reason: str,
        trigger: RebalanceTrigger = RebalanceTrigger.MANUAL,
        *,
        min_transfer_pct: object = None,
    ) -> RebalancePlan:
        """Validate every target first; strategies not named keep their current weight.

        With `min_transfer_pct`, transfers smaller than that fraction of the fund's value are
        skipped and listed in the plan (see `core.transfer_threshold`).
        """
        threshold = check_min_transfer_pct(min_transfer_pct)
        if not isinstance(new_allocations, Mapping):
            raise InvalidInputError("new_allocations must be a mapping of strategy id -> weight")
        unknown = [sid for sid in new_allocations if sid not in self.records]
        if unknown:
            raise InvalidInputError(f"Unknown strategies: {', '.join(map(str, unknown))}")
        weights = self.current_weights()
        targets: dict[str, Decimal] = {}
        for sid, raw in new_allocations.items():
            weight = to_decimal(raw, field=f"allocation for {sid}")
            if weight < ZERO:
                raise InvalidInputError(f"Allocation for {sid} must be >= 0, got {weight}")
            targets[sid] = weight
        kept = sum((w for sid, w in weights.items() if sid not in targets), ZERO)
        total = kept + sum(targets.values(), ZERO)
        if total > ONE + WEIGHT_NOISE:
            raise InvalidInputError(
                f"Allocations sum to {float(total):.4%} (named {float(total - kept):.4%}, "
                f"others keep {float(kept):.4%}); the total must be <= 100%"
            )
        targets = {sid: quantize_weight(w) for sid, w in targets.items()}
        values = {sid: (rec.value, rec.cash) for sid, rec in self.records.items()}
        return plan_transfers(targets, weights, values, self.fund_value, reason, trigger, threshold)

    def finish_rebalance(
        self, plan: RebalancePlan, transfers: dict[str, Decimal], costs: Decimal
    ) -> RebalanceRecord:
        after = self.check_conservation(plan.fund_value, costs, f"rebalance ({plan.reason})")
        for sid, weight in plan.targets.items():
            self.records[sid].target_weight = weight
        self.targets_version = object()
        record = RebalanceRecord(
            ts=self.current_timestamp,
            reason=plan.reason,
            weights_before=plan.weights_before,
            weights_after=self.current_weights(),
            targets=dict(plan.targets),
            transfers=transfers,
            costs=costs,
            fund_value_before=plan.fund_value,
            fund_value_after=after,
            trigger=plan.trigger,
            skipped=dict(plan.skipped),
        )
        self.rebalances.append(record)
        return record
