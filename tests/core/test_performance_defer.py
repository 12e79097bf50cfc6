"""`StrategyPerformance.defer`: an update whose arithmetic is done later must be invisible.

A tracker fed with `defer` and one fed with `update` must answer every reader the same at
every moment, whatever comes between (flows, pickling, more updates), without anybody
calling `settle`: the readers settle by themselves.
"""

from __future__ import annotations

import math
import pickle
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.performance import StrategyPerformance

T0 = datetime(2024, 1, 1)


def readers() -> list[str]:
    """Every public reader of a tracker: its properties and its argument-less methods."""
    names = []
    for name in dir(StrategyPerformance):
        if name.startswith("_"):
            continue
        attribute = getattr(StrategyPerformance, name)
        if isinstance(attribute, property) or name in ("get_metrics", "to_state", "returns_array"):
            names.append(name)
    return [*names, "timestamps", "portfolio_values", "num_observations"]


def read(perf: StrategyPerformance, name: str) -> Any:
    value = getattr(perf, name)
    if callable(value):
        value = value()
    if name in ("timestamps", "portfolio_values", "returns_array"):
        value = list(value)
    return value


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def test_the_readers_cover_the_statistics() -> None:
    names = readers()
    for expected in ("sharpe_ratio", "max_drawdown", "returns", "peak_value", "to_state"):
        assert expected in names


amounts = st.decimals(min_value=Decimal("-50"), max_value=Decimal("500"), places=2)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("update"), st.decimals(min_value=0, max_value=10_000, places=2)),
        st.tuples(st.just("flow"), amounts),
        st.tuples(st.just("read"), st.sampled_from(readers())),
        st.tuples(st.just("pickle"), st.none()),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops=operations, lookback=st.integers(min_value=2, max_value=6))
def test_deferred_updates_read_as_immediate_ones(ops: list[tuple[str, Any]], lookback: int) -> None:
    eager = StrategyPerformance("s", lookback)
    lazy = StrategyPerformance("s", lookback)
    ts = T0
    for op, arg in ops:
        if op == "update":
            ts += timedelta(days=1)
            eager.update(ts, arg)
            lazy.defer(ts, arg)
        elif op == "flow":
            eager.record_flow(arg)
            lazy.record_flow(arg)
        elif op == "read":
            assert same(read(lazy, arg), read(eager, arg)), arg
        else:
            lazy = pickle.loads(pickle.dumps(lazy))
    for name in readers():
        assert same(read(lazy, name), read(eager, name)), name
    assert lazy == eager


def test_a_deferred_return_is_visible_to_every_reader_at_once() -> None:
    perf = StrategyPerformance("s", 5)
    perf.update(T0, Decimal("100"))
    perf.defer(T0 + timedelta(days=1), Decimal("80"))
    assert perf.num_observations == 2
    assert perf.current_value == Decimal("80")
    assert perf.total_return == pytest.approx(-0.2)
    assert perf.max_drawdown == pytest.approx(-0.2)
    assert perf.num_returns == 1


def test_a_second_deferral_settles_the_first() -> None:
    eager, lazy = StrategyPerformance("s", 3), StrategyPerformance("s", 3)
    for day, value in enumerate(("100", "120", "90", "95")):
        eager.update(T0 + timedelta(days=day), Decimal(value))
        lazy.defer(T0 + timedelta(days=day), Decimal(value))
    assert lazy.to_state() == eager.to_state()


def test_a_pickle_never_holds_a_deferred_return() -> None:
    perf = StrategyPerformance("s", 5)
    perf.update(T0, Decimal("100"))
    perf.defer(T0 + timedelta(days=1), Decimal("110"))
    restored = pickle.loads(pickle.dumps(perf))
    assert restored.__dict__["_deferred"] is None
    assert restored.total_return == pytest.approx(0.1)


def test_a_tracker_pickled_before_deferral_existed_loads_and_defers() -> None:
    perf = StrategyPerformance("s", 5)
    perf.update(T0, Decimal("100"))
    assert "_deferred" not in perf.__dict__  # as every tracker pickled before `defer`
    restored = pickle.loads(pickle.dumps(perf))
    restored.defer(T0 + timedelta(days=1), Decimal("105"))
    assert restored.total_return == pytest.approx(0.05)


def test_a_bad_value_is_refused_when_deferred_not_later() -> None:
    perf = StrategyPerformance("s", 5)
    perf.update(T0, Decimal("100"))
    with pytest.raises(ValueError, match="finite"):
        perf.defer(T0 + timedelta(days=1), Decimal("Infinity"))
    assert perf.num_observations == 1


def test_a_return_too_large_to_store_fails_at_defer_as_at_update() -> None:
    """A growth past float range cannot enter the window: `update` raises at once, and so
    does `defer` (not a later reader, such as a metrics scrape)."""
    eager, lazy = StrategyPerformance("s", 5), StrategyPerformance("s", 5)
    tiny, huge = Decimal("1e-300"), Decimal("1e300")
    eager.update(T0, tiny)
    lazy.update(T0, tiny)
    with pytest.raises(OverflowError):
        eager.update(T0 + timedelta(days=1), huge)
    with pytest.raises(OverflowError):
        lazy.defer(T0 + timedelta(days=1), huge)
    assert lazy._deferred is None
