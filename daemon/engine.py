"""The fund engine: the fund book driven through worker hosts, one slice at a time.

Everything that decides money happens in the core (`FundBook`); the engine only moves the
book's plans to the workers and their reports back. It never reads the clock: given the same
slices and the same commands at the same slice boundaries, it produces the same fund.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.book import FundBook
from core.deposits import fund_deposits
from core.errors import CoreError
from core.held_capital import due_rebalance, rebalance_trigger
from core.market import Slice
from core.money import ZERO, decimal_string
from core.rebalance_plan import RebalancePlan
from core.rebalancer import AllocationRebalancer
from core.records import (
    QUARANTINE_CANCEL_REASON,
    RebalanceRecord,
    RebalanceTrigger,
    StrategyAllocation,
    StrategyState,
)
from daemon import shard_statistics
from daemon.history import FundHistory
from daemon.stepping import Layout, Stepped, Worker, layout_for, step_workers
from workers.errors import WorkerMemoryExceeded, WorkerTimeout

__all__ = ["EngineState", "Event", "FundEngine", "StrategyActivity", "Worker"]

StepObserver = Callable[[list[float]], None]
"""Called once per live slice with the seconds each strategy's step took in its host."""

TIMEOUT_PREFIX = WorkerTimeout.__name__
"""A fault whose reason starts with this was a step that overran its deadline."""

MEMORY_PREFIX = WorkerMemoryExceeded.__name__
"""A fault whose reason starts with this pushed its shard past the shard's memory limit."""

EVENTS_KEPT = 1_000
"""Runtime changes kept in the engine state (and so in every snapshot): the newest ones.
Each is also logged when it happens; the bound keeps snapshots from growing with age."""


@dataclass
class Event:
    """A runtime change, with the slice index at which it took effect."""

    slice_index: int
    ts: datetime | None
    kind: str
    strategy_id: str | None
    detail: str


@dataclass
class EngineState:
    """Everything of the fund that is not inside a worker (pickled into snapshots)."""

    book: FundBook
    rebalancer: AllocationRebalancer | None
    slice_index: int = 0
    events: list[Event] = field(default_factory=list)
    catalog_of: dict[str, str] = field(default_factory=dict)
    history: FundHistory = field(default_factory=FundHistory)


@dataclass(slots=True)
class StrategyActivity:
    """What one strategy did while this process ran it, for the metrics' counters.

    Counted on live slices only (a slice replayed from the journal was counted by the
    process that first stepped it), and never part of the fund's state or its snapshots.
    """

    fills: int = 0
    orders: int = 0
    timeouts: int = 0


class FundEngine:
    """Steps workers, feeds the book, rebalances. Commands are applied between slices."""

    def __init__(
        self,
        state: EngineState,
        workers: dict[str, Worker],
    ) -> None:
        self.state = state
        self.workers = workers
        self.activity: defaultdict[str, StrategyActivity] = defaultdict(StrategyActivity)
        self.totals = StrategyActivity()
        """The whole fund's activity, removed strategies included."""
        self.step_observer: StepObserver | None = None
        self._layout: Layout | None = None

    @property
    def book(self) -> FundBook:
        return self.state.book

    def _event(self, kind: str, sid: str | None, detail: str) -> Event:
        event = Event(self.state.slice_index, self.book.current_timestamp, kind, sid, detail)
        events = self.state.events
        events.append(event)
        if len(events) > EVENTS_KEPT:
            del events[: len(events) - EVENTS_KEPT]
        return event

    # ---- per slice ---------------------------------------------------------------------
    async def step(
        self, market: Slice, faults: Mapping[str, str] | None = None, *, replay: bool = False
    ) -> list[Event]:
        """Fill, mark and run every strategy on `market`, then maybe rebalance.

        A process worker whose step overruns its deadline or whose child dies is rebuilt at
        the end of the previous slice, stepped without trading, and quarantined (paused with
        the reason). `faults` replays such quarantines from the journal without waiting for
        the deadline again: strategy id -> reason. `replay`: the slice was stepped before
        (recovery from the journal), so process workers get no step deadline (see
        `HostClient.step`).
        """
        book = self.book
        last = book.current_timestamp
        if last is not None and not market.ts > last:
            raise ValueError(f"slice {market.ts} is not after {last}")
        book.current_timestamp = market.ts
        reserve_error = book.mark_reserve(market)
        known = dict(faults) if faults else {}
        layout = self._layout = layout_for(book, self.workers, self._layout)
        stepped = await step_workers(book, layout, market, known, replay)
        found = stepped.found
        if not replay:
            self._tally(stepped)
        events = []
        if reserve_error is not None:
            events.append(self._event("reserve_mark_failed", None, reserve_error))
        on_report = book.on_report
        for outcome in stepped.outcomes:
            report = outcome.report
            if outcome.overrun:
                took = f"{outcome.duration_s:.3f}s"
                events.append(self._event("overrun", report.strategy_id, took))
            if on_report(report):
                rec = book.records[report.strategy_id]
                await self.workers[report.strategy_id].cancel_orders(QUARANTINE_CANCEL_REASON)
                events.append(self._event("quarantine", rec.strategy_id, rec.pause_reason or ""))
        if known or found:
            for sid, reason in {**known, **found}.items():
                if self._quarantine(sid, reason):
                    await self.workers[sid].cancel_orders(QUARANTINE_CANCEL_REASON)
                kind = "fault" if sid in found else "fault_replayed"
                events.append(self._event(kind, sid, reason))
        record = await self._scheduled_rebalance(market.ts)
        if record is not None:
            events.append(self._event("rebalance", None, record.reason))
        marked = stepped.marked_row if stepped.marks and record is None else None
        self.state.history.record(market.ts, book, marked)
        self.state.slice_index += 1
        return events

    def _tally(self, stepped: Stepped) -> None:
        """Count fills, orders and timeouts; hand the step durations to the observer.
        Most steps neither fill nor order, so they cost one test here (or none: a shard's
        quiet steps are not outcomes)."""
        activity, totals = self.activity, self.totals
        for outcome in stepped.outcomes:
            report = outcome.report
            if report.fills or report.orders:
                counts = activity[report.strategy_id]
                counts.fills += len(report.fills)
                counts.orders += report.orders
                totals.fills += len(report.fills)
                totals.orders += report.orders
        for sid, reason in stepped.found.items():
            if reason.startswith(TIMEOUT_PREFIX):
                activity[sid].timeouts += 1
                totals.timeouts += 1
        observer = self.step_observer
        if observer is not None:
            observer(stepped.durations())

    def _quarantine(self, sid: str, reason: str) -> bool:
        """A timeout or a memory blow-up quarantines at once; a dead child counts as one
        consecutive failure. Returns True when this quarantined the strategy (its orders are
        to be cancelled)."""
        rec = self.book.records[sid]
        rec.error_count += 1
        rec.consecutive_errors += 1
        rec.last_error = reason
        limit = self.book.max_consecutive_errors
        at_once = reason.startswith((TIMEOUT_PREFIX, MEMORY_PREFIX))
        if rec.state is StrategyState.RUNNING and (at_once or rec.consecutive_errors >= limit):
            self.book.mark_paused(rec, f"quarantined: {reason}", quarantine=True)
            return True
        return False

    async def _scheduled_rebalance(self, ts: datetime) -> RebalanceRecord | None:
        """Among the running strategies only; paused and quarantined ones keep their capital
        (see `core.held_capital`)."""
        rebalancer = self.state.rebalancer
        if rebalancer is None:
            return None
        fired = rebalance_trigger(self.book, rebalancer, ts)
        if fired is None:
            return None
        await self.refresh_statistics(rebalancer.algorithm)
        due = due_rebalance(self.book, rebalancer, ts, fired)
        if due is None:
            return None
        record = await self.rebalance(
            due.targets, due.reason, due.trigger, min_transfer_pct=rebalancer.min_transfer_pct
        )
        due.record(rebalancer)
        return record

    # ---- lifecycle ---------------------------------------------------------------------
    async def add(
        self, strategy_id: str, catalog: str, allocation: object, worker: Worker
    ) -> StrategyAllocation:
        """Fund a new strategy hosted by `worker` (started: its strategy is initialised)."""
        weight, amount = self.book.validate_add(strategy_id, allocation)
        self.book.reserve.transfer_out(amount)
        try:
            value = await worker.deposit(amount)
        except BaseException:
            self.book.reserve.transfer_in(amount)  # the money never left the fund
            raise
        record = self.book.admit(strategy_id, weight, value)
        try:
            await shard_statistics.track(record, worker)
        except BaseException:  # the strategy never joined: its capital goes back
            del self.book.records[strategy_id]
            self.book.reserve.transfer_in(amount)
            raise
        self.workers[strategy_id] = worker
        self.state.catalog_of[strategy_id] = catalog
        self._event("add", strategy_id, f"{catalog} at weight {decimal_string(weight)}")
        return record

    async def pause(self, strategy_id: str, reason: str) -> None:
        rec = self.book.validate_pause(strategy_id)
        await self.workers[strategy_id].cancel_orders("strategy paused")
        self.book.mark_paused(rec, reason)
        self._event("pause", strategy_id, reason)

    async def resume(self, strategy_id: str) -> None:
        rec = self.book.validate_resume(strategy_id)
        self.book.mark_resumed(rec)
        self._event("resume", strategy_id, "")

    async def remove(self, strategy_id: str, liquidate: bool) -> Decimal:
        """Return everything the strategy holds to the reserve (see PortfolioAllocator); a
        strategy in debt after liquidation has its debt paid by the reserve. All or nothing:
        when that fails (the reserve cannot pay), the strategy and the reserve are restored."""
        rec = self.book.record(strategy_id)
        worker = self.workers[strategy_id]
        before = self.book.fund_value
        checkpoint = await worker.ledger_state()  # emptying changes the ledger only
        kept = copy.deepcopy(self.book.reserve), rec.state, rec.value
        try:
            value, costs = await self._empty(rec, worker, liquidate)
            self.book.check_conservation(before, costs, f"remove {strategy_id}")
        except CoreError:
            await worker.restore_ledger(checkpoint)
            self.book.reserve, rec.state, rec.value = kept
            raise
        rec.state = StrategyState.STOPPED
        del self.book.records[strategy_id]
        del self.workers[strategy_id]
        self.activity.pop(strategy_id, None)
        await worker.close()
        self._event("remove", strategy_id, f"liquidate={liquidate} value={decimal_string(value)}")
        return value

    async def _empty(
        self, rec: StrategyAllocation, worker: Worker, liquidate: bool
    ) -> tuple[Decimal, Decimal]:
        """Move the strategy's positions (unless liquidating) and cash to the reserve;
        returns (value moved, costs)."""
        reserve = self.book.reserve
        rec.state = StrategyState.LIQUIDATING
        await worker.cancel_orders("strategy removed")
        moved = ZERO
        if not liquidate:
            for position in await worker.release_positions():
                amount, price = Decimal(position["amount"]), Decimal(position["last_price"])
                reserve.add_position(
                    position["asset"], amount, Decimal(position["cost_basis"]), price
                )
                moved += amount * price
        cash, costs, value_after, _ = await worker.withdraw(None)
        reserve.transfer_in(cash)
        if value_after < ZERO:  # a debt left after liquidation: the fund pays it
            costs += reserve.transfer_out(-value_after).costs
            cash += value_after
            value_after = await worker.deposit(-value_after)
        rec.value = value_after  # nothing is left in it
        return moved + cash, costs

    async def refresh_statistics(self, reader: object = None) -> None:
        """Bring the book's copies of statistics kept in shards up to date (before reading
        them: `daemon.shard_statistics`). `reader`: an allocation algorithm about to read
        them; one that reads none (`reads_statistics` False) needs no load."""
        if getattr(reader, "reads_statistics", True):
            await shard_statistics.refresh(self.book, self.workers)

    # ---- rebalancing -------------------------------------------------------------------
    async def rebalance(
        self,
        targets: Mapping[str, object],
        reason: str,
        trigger: RebalanceTrigger = RebalanceTrigger.MANUAL,
        *,
        min_transfer_pct: Decimal | None = None,
    ) -> RebalanceRecord:
        """As `PortfolioAllocator.rebalance`, with the ledgers in workers."""
        plan = self.book.plan_rebalance(targets, reason, trigger, min_transfer_pct=min_transfer_pct)
        return await self._apply(plan)

    async def _apply(self, plan: RebalancePlan) -> RebalanceRecord:
        transfers: dict[str, Decimal] = {}
        costs = ZERO
        for sid, amount in plan.withdrawals:
            moved, cost, value_after, cash_after = await self.workers[sid].withdraw(amount)
            self.book.reserve.transfer_in(moved)
            self.book.settle_withdrawal(sid, moved, cost, value_after, cash_after)
            await shard_statistics.record_flow(self.workers[sid], -moved)
            transfers[sid] = -moved
            costs += cost
        deposits, reserve_costs = fund_deposits(self.book.reserve, plan.deposits)
        costs += reserve_costs
        for sid, amount in deposits:
            value_after = await self.workers[sid].deposit(amount)
            self.book.settle_deposit(sid, amount, value_after)
            await shard_statistics.record_flow(self.workers[sid], amount)
            transfers[sid] = amount
        return self.book.finish_rebalance(plan, transfers, costs)
