"""A `PerformanceCopy` loaded from a tracker reads exactly as the tracker, whenever it is
loaded: after every update, after many, after more than its window, across flows; and
nothing but a load changes it."""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.performance import StrategyPerformance
from core.performance_copy import PerformanceCopy, Since, stands_at, tracked_fields

T0 = datetime(2024, 1, 1, tzinfo=UTC)

READERS = sorted(
    name
    for name, member in vars(StrategyPerformance).items()
    if isinstance(member, property) and not name.startswith("_")
)
"""Every public property of a tracker: what its readers read."""


def _reads(perf: StrategyPerformance) -> dict[str, object]:
    reads: dict[str, object] = {name: getattr(perf, name) for name in READERS}
    reads["num_observations"] = perf.num_observations
    reads["returns_array"] = perf.returns_array().tolist()
    reads["metrics"] = perf.get_metrics()
    reads["state"] = perf.to_state()
    return reads


def _same(copy: PerformanceCopy, tracker: StrategyPerformance) -> None:
    reads, expected = _reads(copy), _reads(tracker)
    for name, value in expected.items():
        got = reads[name]
        if isinstance(value, float) and math.isnan(value):
            assert isinstance(got, float) and math.isnan(got), name
        else:
            assert got == value, name


step = st.tuples(
    st.decimals(min_value=-500, max_value=500, places=2),  # the value moves by this much
    st.one_of(st.none(), st.decimals(min_value=-300, max_value=300, places=2)),  # a flow
    st.booleans(),  # load the copy after this step
)


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(step, min_size=0, max_size=40), window=st.integers(2, 6))
def test_a_loaded_copy_reads_as_its_tracker(
    steps: list[tuple[Decimal, Decimal | None, bool]], window: int
) -> None:
    tracker = StrategyPerformance("s", window)
    tracker.update(T0, Decimal(1000))
    copy = PerformanceCopy.of(StrategyPerformance.from_state(tracker.to_state()))
    value = Decimal(1000)
    for i, (move, flow, load) in enumerate(steps, start=1):
        if flow is not None:
            tracker.record_flow(flow)
            copy.record_flow(flow)  # nothing: the host records it
            value += flow
        value += move
        tracker.update(T0 + timedelta(days=i), value)
        copy.update(T0 + timedelta(days=i), value)  # nothing: the host records it
        if load:
            copy.load(tracked_fields(tracker, stands_at(copy)))
            _same(copy, tracker)
    copy.load(tracked_fields(tracker, stands_at(copy)))
    _same(copy, tracker)
    assert copy.tracker().to_state() == tracker.to_state()


def test_update_and_flow_leave_a_copy_as_it_was() -> None:
    tracker = StrategyPerformance("s", 5)
    tracker.update(T0, Decimal(100))
    copy = PerformanceCopy.of(StrategyPerformance.from_state(tracker.to_state()))
    before = copy.to_state()
    copy.update(T0 + timedelta(days=1), Decimal(150))
    copy.record_flow(Decimal(50))
    assert copy.to_state() == before


def _at(observations: int, stamp: object = ("none",)) -> Since:
    return Since(observations, stamp)


def test_a_load_sends_only_what_the_copy_lacks() -> None:
    tracker = StrategyPerformance("s", 3)
    for day in range(10):
        tracker.update(T0 + timedelta(days=day), Decimal(100 + day))
    copy = PerformanceCopy.of(StrategyPerformance.from_state(tracker.to_state()))
    for day in range(10, 12):
        tracker.update(T0 + timedelta(days=day), Decimal(100 + day))
    tracked = tracked_fields(tracker, stands_at(copy))
    assert (len(tracked.timestamps), tracked.all_returns, len(tracked.returns)) == (2, False, 2)
    assert tracked.return_timestamps == [T0 + timedelta(days=10), T0 + timedelta(days=11)]
    copy.load(tracked)
    _same(copy, tracker)
    assert tracked_fields(tracker, stands_at(copy))[2:] == (12, [], "", False, [], [])


def test_a_copy_far_behind_or_not_continued_takes_everything() -> None:
    tracker = StrategyPerformance("s", 3)
    behind = PerformanceCopy.of(StrategyPerformance("s", 3))
    for day in range(10):
        tracker.update(T0 + timedelta(days=day), Decimal(100 + 3 * day))
    behind.load(tracked_fields(tracker, stands_at(behind)))
    _same(behind, tracker)
    # its newest return is older than the tracker's window: the whole window is sent
    old = tracked_fields(tracker, _at(2, T0 + timedelta(days=1)))
    assert (old.all_returns, len(old.returns), len(old.timestamps)) == (True, 3, 4)
    # a copy that claims more observations than the tracker has: all it holds
    ahead = PerformanceCopy.of(StrategyPerformance.from_state(tracker.to_state()))
    ahead.num_observations = 50
    ahead.load(tracked_fields(tracker, stands_at(ahead)))
    _same(ahead, tracker)


def test_a_load_that_does_not_fit_is_refused_before_anything_changes() -> None:
    tracker = StrategyPerformance("s", 3)
    for day in range(3):
        tracker.update(T0 + timedelta(days=day), Decimal(100 + day))
    copy = PerformanceCopy.of(StrategyPerformance.from_state(tracker.to_state()))
    tracker.update(T0 + timedelta(days=3), Decimal(90))
    before = copy.to_state()
    good = tracked_fields(tracker, stands_at(copy))
    with pytest.raises(ValueError, match="observations and values"):
        copy.load(good._replace(values="1 2"))
    with pytest.raises(ValueError, match="not the statistics"):
        copy.load(good._replace(summary=good.summary[1:]))
    with pytest.raises(ValueError, match="do not continue"):
        copy.load(good._replace(returns=[], return_timestamps=[]))
    with pytest.raises(ValueError, match="made for a copy standing elsewhere"):
        copy.load(good._replace(since=_at(2)))
    assert copy.to_state() == before
    copy.load(good)
    _same(copy, tracker)


def test_a_copy_pickles_and_stays_a_copy() -> None:
    tracker = StrategyPerformance("s", 4)
    for day in range(6):
        tracker.update(T0 + timedelta(days=day), Decimal(100 + day * day))
    copy = PerformanceCopy.of(StrategyPerformance.from_state(tracker.to_state()))
    back = pickle.loads(pickle.dumps(copy))
    assert isinstance(back, PerformanceCopy)
    _same(back, tracker)
