"""Which strategies the fund's own rebalances allocate among, and what they leave alone.

Scheduled and drift rebalances (the rebalancer's, and a rebalance to the configured
algorithm) allocate among RUNNING strategies only. The capital of a paused or quarantined
strategy is *held*: it stays where it is, cash and positions untouched, until it resumes
(or an operator moves it with explicit weights, or removes the strategy).

With held weight H (the held strategies' share of the fund's value), the algorithm's
weights are fractions of the rest: a running strategy's target is its weight × (1 − H),
rounded down to the weight quantum, and the held strategies are not named, so the plan
moves none of their money. Drift is measured the same way: the running strategies' current
weights and their last targets, each divided by what the non-running strategies take of
its total, so a pause neither looks like drift nor hides it.

Both drivers use these functions: `PortfolioAllocator.rebalance_if_due` and the daemon's
engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.book import FundBook
from core.money import ONE, ZERO, quantize_weight
from core.performance import StrategyPerformance
from core.rebalancer import AllocationRebalancer
from core.records import RebalanceTrigger, StrategyState


@dataclass(frozen=True)
class DueRebalance:
    """A rebalance the rebalancer asks for, not yet applied nor recorded.

    `weights` are the algorithm's (fractions of the running strategies' capital),
    `targets` the same as fractions of the fund, for `rebalance`.
    """

    timestamp: datetime
    weights: dict[str, Decimal]
    targets: dict[str, Decimal]
    reason: str
    trigger: RebalanceTrigger

    def record(self, rebalancer: AllocationRebalancer) -> None:
        """Tell `rebalancer` it was applied (its time and weights drive the next check)."""
        rebalancer.record_rebalance(self.timestamp, self.weights)


def running_ids(book: FundBook) -> list[str]:
    """The strategies the fund allocates among, in insertion order."""
    running = StrategyState.RUNNING
    return [sid for sid, rec in book.records.items() if rec.state is running]


def allocatable_performances(book: FundBook) -> dict[str, StrategyPerformance]:
    """The performances of the RUNNING strategies, to hand to an allocation algorithm."""
    records = book.records
    return {sid: records[sid].performance for sid in running_ids(book)}


def held_weight(book: FundBook, weights: Mapping[str, Decimal] | None = None) -> Decimal:
    """The share of the fund's value that paused and quarantined strategies hold."""
    if weights is None:
        weights = book.current_weights()
    running = set(running_ids(book))
    return sum((w for sid, w in weights.items() if sid not in running), ZERO)


def scale_to_running(book: FundBook, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Weights of the running strategies' capital as fractions of the whole fund: each
    × (1 − held weight), rounded down. Ids that are not running are left out, so their
    capital is held."""
    free = ONE - held_weight(book)
    running = set(running_ids(book))
    return {sid: quantize_weight(w * free) for sid, w in weights.items() if sid in running}


def drift_view(
    book: FundBook, last_targets: Mapping[str, Decimal] | None
) -> tuple[dict[str, Decimal], dict[str, Decimal] | None]:
    """(current, targets) restricted to the running strategies, each renormalised by what
    the non-running strategies take of it, for `AllocationRebalancer.check`."""
    running = running_ids(book)
    current = _restricted(book.current_weights(), running)
    if last_targets is None:
        return current, None
    return current, _restricted(last_targets, running)


def _restricted(weights: Mapping[str, Decimal], running: list[str]) -> dict[str, Decimal]:
    inside = {sid: weights.get(sid, ZERO) for sid in running}
    outside = sum((w for sid, w in weights.items() if sid not in inside), ZERO)
    free = ONE - outside
    if free <= ZERO:
        return {sid: ZERO for sid in running}
    return {sid: w / free for sid, w in inside.items()}


def rebalance_trigger(
    book: FundBook, rebalancer: AllocationRebalancer, timestamp: datetime
) -> tuple[RebalanceTrigger, str] | None:
    """What fires a rebalance at `timestamp` (trigger and reason), or None. Reads weights
    only, never the statistics."""
    current: dict[str, Decimal] | None = None
    targets: dict[str, Decimal] | None = None
    if rebalancer.drift_threshold is not None:  # weights are only needed to measure drift
        current, targets = drift_view(book, rebalancer.last_target_allocations)
    trigger, reason = rebalancer.check(timestamp, current, targets)
    return None if trigger is None else (trigger, reason)


def due_rebalance(
    book: FundBook,
    rebalancer: AllocationRebalancer,
    timestamp: datetime,
    fired: tuple[RebalanceTrigger, str] | None = None,
) -> DueRebalance | None:
    """The rebalance due at `timestamp` among the running strategies, or None. `fired`:
    what `rebalance_trigger` found at `timestamp` (found here when not given).

    With no running strategy nothing is due. Nothing changes here: the caller applies the
    targets, then `DueRebalance.record`s it, so a rebalance that fails is not recorded.
    """
    if fired is None:
        fired = rebalance_trigger(book, rebalancer, timestamp)
        if fired is None:
            return None
    trigger, reason = fired
    performances = allocatable_performances(book)
    if not performances:
        return None
    weights = rebalancer.algorithm.calculate_allocations(performances)
    return DueRebalance(timestamp, weights, scale_to_running(book, weights), reason, trigger)
