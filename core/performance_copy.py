"""`PerformanceCopy`: the book's copy of statistics that another host keeps up to date.

A strategy hosted in a shard has its `StrategyPerformance` updated in the shard, beside its
ledger (`workers.shard_host`), so the fund's book does not spend the update on every strategy
and slice: in a large sharded fund that arithmetic is most of what the supervisor does per
slice, and the shards do it in parallel. The book keeps a `PerformanceCopy` instead: the
tracker as the host last sent it (`load`, from `tracked_fields`), which neither `update` nor
`record_flow` changes (the host records both). A copy is stale between loads, so whoever
reads it loads it first (`daemon.shard_statistics`); once loaded it reads, and `to_state`s,
exactly as the host's tracker.

A load sends what the copy lacks: the sums, NAV, drawdowns and pending flows whole (a few
numbers), and of the observations (timestamp, value) and the window's returns only those
recorded since the copy was last loaded, found by the copy's position (`stands_at`): its count
of observations, and the timestamp of its newest return (a strategy's returns have strictly
increasing timestamps, one per slice). Where the copy's position is not found (a copy far
behind, or one the tracker does not continue), everything the tracker holds is sent. A copy
never computes a return: `tracker()` rebuilds a full tracker from it (for a host that does
not keep statistics).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from core.money import ZERO
from core.performance import StrategyPerformance

SUMMARY_FIELDS = (
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
"""The tracker's attributes a load sends whole. The window's returns (`_ret`, `_ret_ts`) and
the observations are sent from where the copy stands; `_pos` is the copy's own (its ring may
be laid out from another starting point); `_last_f` and `_ret_q` only serve the next update
(`from_state` rebuilds them)."""

_PENDING = SUMMARY_FIELDS.index("_pending_flow")
_PEAK = SUMMARY_FIELDS.index("_peak_value")
"""The Decimals among `SUMMARY_FIELDS`, sent as text."""

_NO_RETURN = ("none",)
"""`Since.last_return` of a copy without returns (a timestamp may be None; this is not one)."""


class Since(NamedTuple):
    """Where a copy stands: what `tracked_fields` sends it from."""

    observations: int
    last_return: Any
    """The timestamp of its newest return (`_NO_RETURN`: none)."""


class Tracked(NamedTuple):
    """What a copy loads: `tracked_fields`."""

    since: Since
    """Where the copy it was made for stood: a load fits that copy only."""
    summary: tuple[Any, ...]
    """The values of `SUMMARY_FIELDS`, in that order (Decimals as text)."""
    observations: int
    """How many observations the tracker has recorded (`num_observations`)."""
    timestamps: list[Any]
    """The timestamps of its last `len(timestamps)` observations."""
    values: str
    """Their values, space-separated (a Decimal pickles several times slower than `str`)."""
    all_returns: bool
    """True: `returns` is the whole window; False: the returns since the copy's newest."""
    returns: list[float]
    """Returns, oldest first."""
    return_timestamps: list[Any]


def stands_at(copy: StrategyPerformance) -> Since:
    """Where `copy` stands, for `tracked_fields`."""
    count = copy._count
    if not count:
        return Since(copy.num_observations, _NO_RETURN)
    newest = copy._pos - 1 if copy._pos else copy.lookback_window - 1
    return Since(copy.num_observations, copy._ret_ts[newest])


def tracked_fields(tracker: StrategyPerformance, since: Since) -> Tracked:
    """What a copy of `tracker` standing at `since` loads to equal it."""
    summary = tuple(
        str(value) if value.__class__ is Decimal else value
        for value in map(tracker.__getattribute__, SUMMARY_FIELDS)
    )
    count = tracker.num_observations
    timestamps, amounts = tracker.timestamps, tracker.portfolio_values
    held = len(timestamps)
    new = count - since.observations if 0 <= since.observations <= count else held
    newest = range(held - min(new, held), held)  # a deque reads fast near its ends
    stamps = [timestamps[i] for i in newest]
    values = " ".join([str(amounts[i]) for i in newest])
    fresh = _returns_after(tracker, since.last_return)
    if fresh is None:
        returns, return_stamps = tracker.returns, list(tracker.return_timestamps)
        return Tracked(since, summary, count, stamps, values, True, returns, return_stamps)
    returns, return_stamps = fresh
    return Tracked(since, summary, count, stamps, values, False, returns, return_stamps)


def _returns_after(tracker: StrategyPerformance, last: Any) -> tuple[list[float], list[Any]] | None:
    """The returns (and their timestamps, oldest first) recorded after the one stamped
    `last`; None when that one is not in the window."""
    ret, stamps, window = tracker._ret, tracker._ret_ts, tracker.lookback_window
    newer: list[int] = []
    pos = tracker._pos
    for _ in range(tracker._count):  # newest first
        pos = pos - 1 if pos else window - 1
        if last is not _NO_RETURN and stamps[pos] == last:
            break
        newer.append(pos)
    else:
        if last is not _NO_RETURN:  # not in the window
            return None
    newer.reverse()
    return [ret[i] for i in newer], [stamps[i] for i in newer]


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
        """Become equal to the host's tracker (`tracked_fields` of it, where this copy
        `stands_at`).
        Checked before anything changes: a load that does not fit raises `ValueError`."""
        made_for, summary, count, stamps, text, whole, returns, return_stamps = tracked
        if len(summary) != len(SUMMARY_FIELDS) or count < len(stamps):
            raise ValueError("not the statistics of a tracker")
        if made_for != stands_at(self):
            raise ValueError("statistics: made for a copy standing elsewhere")
        pending, peak = Decimal(summary[_PENDING]), Decimal(summary[_PEAK])
        values = [Decimal(v) for v in text.split()] if text else []
        if len(values) != len(stamps) or len(returns) != len(return_stamps):
            raise ValueError("statistics: observations and values do not match")
        expected = len(returns) if whole else min(self._count + len(returns), self.lookback_window)
        if expected != summary[0]:  # _count
            raise ValueError("statistics: the returns do not continue this copy's")
        if count - self.num_observations != len(stamps):  # not a continuation: all of them
            self.timestamps.clear()
            self.portfolio_values.clear()
        if stamps:
            self.timestamps.extend(stamps)
            self.portfolio_values.extend(values)
        self.num_observations = count
        if whole:
            self._clear_window()
        if returns:
            self._append_returns(returns, return_stamps)
        attributes = self.__dict__
        attributes.update(zip(SUMMARY_FIELDS, summary, strict=True))
        attributes["_pending_flow"], attributes["_peak_value"] = pending, peak

    def _clear_window(self) -> None:
        window = self.lookback_window
        self._ret = [0.0] * window
        self._ret_q = [0] * window
        self._ret_ts = [None] * window
        self._pos = self._count = 0

    def _append_returns(self, returns: list[float], stamps: list[Any]) -> None:
        """Write returns into the ring, oldest first (the sums come with the load)."""
        ret, ret_ts, window = self._ret, self._ret_ts, self.lookback_window
        pos = self._pos
        for r, ts in zip(returns, stamps, strict=True):
            ret[pos] = r
            ret_ts[pos] = ts
            pos = pos + 1 if pos + 1 < window else 0
        self._pos = pos
        self._count = min(self._count + len(returns), window)

    def tracker(self) -> StrategyPerformance:
        """A full tracker equal to this copy, that computes its own returns from now on."""
        return StrategyPerformance.from_state(self.to_state())
