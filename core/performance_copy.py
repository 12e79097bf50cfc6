"""`PerformanceCopy`: the book's copy of statistics that another host keeps up to date.

A strategy hosted in a shard has its `StrategyPerformance` updated in the shard, beside its
ledger (`workers.shard_host`), so the fund's book does not spend the update on every strategy
and slice: in a large sharded fund that arithmetic is most of what the supervisor does per
slice, and the shards do it in parallel. The book keeps a `PerformanceCopy` instead: the
tracker as the host last sent it (`load`, from `tracked_fields`), which neither `update` nor
`record_flow` changes (the host records both). A copy is stale between loads, so whoever
reads it loads it first (`daemon.shard_statistics`); once loaded it reads, and `to_state`s,
exactly as the host's tracker.

A load sends the return side whole (the window, its sums, the NAV, the drawdowns, the
pending flows) and only the observations (timestamp, value) the copy does not have yet.
A copy never computes a return: `tracker()` rebuilds a full tracker from it (for a host
that does not keep statistics).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from core.money import ZERO
from core.performance import StrategyPerformance

TRACKED_FIELDS = (
    "_ret",
    "_ret_ts",
    "_pos",
    "_count",
    "_s1",
    "_s2",
    "_wins",
    "_losses",
    "_gain",
    "_loss",
    "_pending_flow",
    "_nav",
    "_peak_nav",
    "_max_dd",
    "_trough_dd",
    "_peak_value",
)
"""The tracker's return side, which a load sends whole. Not sent: the observations (sent
from where the copy stands), and what only the next update needs (`_last_f`; `_ret_q`,
which `from_state` rebuilds from the returns)."""


class Tracked(NamedTuple):
    """What a copy loads: `tracked_fields`."""

    fields: tuple[Any, ...]
    """The values of `TRACKED_FIELDS`, in that order."""
    observations: int
    """How many observations the tracker has recorded (`num_observations`)."""
    timestamps: list[Any]
    """The timestamps of its last `len(timestamps)` observations."""
    values: str
    """Their values, space-separated (a Decimal pickles several times slower than `str`)."""


def tracked_fields(tracker: StrategyPerformance, since: int) -> Tracked:
    """What a copy of `tracker` that holds `since` observations loads to equal it."""
    fields = [getattr(tracker, name) for name in TRACKED_FIELDS]
    fields[0] = list(fields[0])
    fields[1] = list(fields[1])
    count = tracker.num_observations
    held = len(tracker.timestamps)
    new = count - since if 0 <= since <= count else held
    new = min(new, held)
    stamps = list(tracker.timestamps)[held - new :] if new else []
    values = " ".join(map(str, list(tracker.portfolio_values)[held - new :])) if new else ""
    return Tracked(tuple(fields), count, stamps, values)


class PerformanceCopy(StrategyPerformance):
    """A `StrategyPerformance` kept by another host, as last loaded (module docstring)."""

    @classmethod
    def of(cls, tracker: StrategyPerformance) -> PerformanceCopy:
        """A copy that starts equal to `tracker` (which it takes over: discard `tracker`)."""
        copy = cls.__new__(cls)
        copy.__dict__.update(vars(tracker))
        return copy

    def update(self, timestamp: Any, value: Decimal, flow: Decimal = ZERO) -> None:
        """Nothing: the host records the observation, and `load` brings it."""

    def record_flow(self, amount: Decimal) -> None:
        """Nothing: the host records the flow, and `load` brings the pending flows."""

    def load(self, tracked: Tracked) -> None:
        """Become equal to the host's tracker (`tracked_fields` of it, since this copy's
        `num_observations`)."""
        fields, count, stamps, text = tracked
        if len(fields) != len(TRACKED_FIELDS) or count < len(stamps):
            raise ValueError("not the statistics of a tracker")
        values = [Decimal(v) for v in text.split()]
        if len(values) != len(stamps):
            raise ValueError("statistics: observations and values do not match")
        if count - self.num_observations != len(stamps):  # not a continuation: all of them
            self.timestamps.clear()
            self.portfolio_values.clear()
        self.timestamps.extend(stamps)
        self.portfolio_values.extend(values)
        self.num_observations = count
        for name, value in zip(TRACKED_FIELDS, fields, strict=True):
            setattr(self, name, value)

    def tracker(self) -> StrategyPerformance:
        """A full tracker equal to this copy, that computes its own returns from now on."""
        return StrategyPerformance.from_state(self.to_state())
