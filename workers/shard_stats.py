"""The statistics a shard keeps for its members: one `StrategyPerformance` per member.

The fund hands a member's tracker to its shard once (`track`, with the tracker's state), then
the shard updates it with the member's value after each of its steps, as the fund's book
would, and records the flows the fund sends (`flow`: capital moved in or out by a
rebalance). The fund's book keeps a `core.performance_copy.PerformanceCopy` and loads it
from `fields` when it reads the statistics. A member the fund has not handed a tracker to is
not tracked.

These operations change the member, so the fund logs them with its other operations and a
rebuilt shard replays them (`workers.shard_host.ShardHost.rebuild`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.performance import StrategyPerformance
from core.performance_copy import Since, Tracked, tracked_fields
from workers.errors import WorkerError

if TYPE_CHECKING:
    from workers.host import StepOutcome

StatisticsState = dict[str, Any] | None
"""A member's tracker as `StrategyPerformance.to_state` (None: not tracked)."""

OPERATIONS = frozenset({"track", "flow", "statistics_state"})
"""The member operations a shard runs itself (not the member's `StrategyHost`)."""


class ShardStatistics:
    """The members' trackers, by strategy id."""

    def __init__(self) -> None:
        self.trackers: dict[str, StrategyPerformance] = {}

    def run(self, strategy_id: str, op: str, args: tuple[Any, ...]) -> Any:
        """One of `OPERATIONS` on member `strategy_id`."""
        if op == "track":
            self.set_state(strategy_id, args[0])
            return None
        if op == "flow":
            tracker = self.trackers.get(strategy_id)
            if tracker is None:
                raise WorkerError(f"strategy {strategy_id!r} has no statistics in this shard")
            tracker.record_flow(args[0])
            return None
        return self.state(strategy_id)

    def set_state(self, strategy_id: str, state: StatisticsState) -> None:
        if state is None:
            self.trackers.pop(strategy_id, None)
        else:
            self.trackers[strategy_id] = StrategyPerformance.from_state(state)

    def state(self, strategy_id: str) -> StatisticsState:
        tracker = self.trackers.get(strategy_id)
        return None if tracker is None else tracker.to_state()

    def stepped(self, strategy_id: str, ts: datetime, value: Decimal) -> None:
        """Member `strategy_id` ended a step at `value` (nothing if it is not tracked)."""
        tracker = self.trackers.get(strategy_id)
        if tracker is not None:
            tracker.update(ts, value)

    def stepped_all(
        self, ids: Sequence[str], ts: datetime, outcomes: Sequence[StepOutcome]
    ) -> None:
        """`stepped` for the members of a slice that stepped (`ids[i]` ended at
        `outcomes[i]`'s value; `outcomes` may stop short of `ids`), once the slice's steps are
        done: the trackers' arithmetic runs back to back, not between steps of strategy code
        that push it out of the CPU's caches. A tracker that refuses its value does not stop
        the others: the first such error is raised once every other tracker is updated."""
        trackers = self.trackers
        error: Exception | None = None
        for sid, outcome in zip(ids, outcomes, strict=False):
            tracker = trackers.get(sid)
            if tracker is not None:
                try:
                    tracker.update(ts, outcome.report.value)
                except Exception as exc:
                    error = error or exc
        if error is not None:
            raise error

    def drop(self, strategy_id: str) -> None:
        self.trackers.pop(strategy_id, None)

    def fields(self, ids: Iterable[str], since: Mapping[str, Since]) -> list[tuple[str, Tracked]]:
        """(id, `tracked_fields`) of each tracked member among `ids` that has a copy
        standing at `since[id]`, in that order."""
        trackers = self.trackers
        return [
            (sid, tracked_fields(trackers[sid], since[sid]))
            for sid in ids
            if sid in trackers and sid in since
        ]
