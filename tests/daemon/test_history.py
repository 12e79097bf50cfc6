"""The equity history: bounded by decimation, deterministic, and recorded by the engine."""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest

from core.book import FundBook
from daemon.history import FundHistory

START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class FakeRecord:
    value: Decimal
    target_weight: Decimal


@dataclass
class FakeReserve:
    portfolio_value: Decimal


@dataclass
class FakeBook:
    """What the history reads of a `FundBook`."""

    reserve: FakeReserve = field(default_factory=lambda: FakeReserve(Decimal(100)))
    records: dict[str, FakeRecord] = field(default_factory=dict)

    @property
    def fund_value(self) -> Decimal:
        return self.reserve.portfolio_value + sum((r.value for r in self.records.values()), 0)

    def current_weights(self) -> dict[str, Decimal]:
        total = self.fund_value
        return {sid: r.value / total for sid, r in self.records.items()}


def as_book(fake: FakeBook) -> FundBook:
    return cast(FundBook, fake)


def feed(history: FundHistory, book: FakeBook, start: int, stop: int) -> None:
    for i in range(start, stop):
        book.reserve.portfolio_value = Decimal(100 + i)
        history.record(START + timedelta(days=i), as_book(book))


def columns(history: FundHistory) -> tuple[Any, ...]:
    return (history.ts, history.fund_value, history.reserve_value, history.weights, history.stride)


def test_decimation_keeps_memory_bounded_and_every_stride_th_slice() -> None:
    history = FundHistory(max_points=100)
    book = FakeBook(records={"a": FakeRecord(Decimal(50), Decimal("0.5"))})
    longest = 0
    for n in range(1, 10_001):
        feed(history, book, n - 1, n)
        longest = max(longest, len(history))
    assert longest < 100
    assert history.stride & (history.stride - 1) == 0  # a power of two
    assert history.ts == [START + timedelta(days=i) for i in range(0, 10_000, history.stride)]
    assert history.reserve_value == [100.0 + i for i in range(0, 10_000, history.stride)]
    assert len(history.weights["a"]) == len(history.targets["a"]) == len(history)


def test_decimation_is_deterministic_across_a_snapshot_and_restore() -> None:
    straight, book = FundHistory(max_points=64), FakeBook()
    feed(straight, book, 0, 1000)
    first = FundHistory(max_points=64)
    feed(first, FakeBook(), 0, 437)
    resumed = pickle.loads(pickle.dumps(first))
    feed(resumed, FakeBook(), 437, 1000)
    assert columns(resumed) == columns(straight)


def test_strategies_missing_at_a_point_are_nan() -> None:
    history = FundHistory()
    book = FakeBook()
    feed(history, book, 0, 2)
    book.records["a"] = FakeRecord(Decimal(100), Decimal("0.25"))
    feed(history, book, 2, 3)
    del book.records["a"]
    feed(history, book, 3, 4)
    weights = history.weights["a"]
    assert math.isnan(weights[0]) and math.isnan(weights[1]) and math.isnan(weights[3])
    assert weights[2] == pytest.approx(100 / 202)
    assert history.targets["a"][2] == 0.25
    assert history.fund_value[2] == 202.0


def test_too_few_points_is_refused() -> None:
    with pytest.raises(ValueError, match="max_points"):
        FundHistory(max_points=1)


def test_weights_and_targets_match_the_book_at_every_kept_point_across_decimations() -> None:
    """Targets are stored as changes: after many decimations, each kept point still shows
    the target and weight the book had at that slice, NaN while the strategy was out."""
    history, book = FundHistory(max_points=16), FakeBook()
    expected: dict[int, tuple[float, float]] = {}  # slice -> (weight of "a", target of "a")
    for i in range(1000):
        if i % 97 == 50:
            book.records.pop("a", None)
        elif i % 97 == 0 or (i % 13 == 0 and "a" in book.records):
            book.records["a"] = FakeRecord(Decimal(10 + i % 7), Decimal(i % 11) / 100)
        book.reserve.portfolio_value = Decimal(100 + i)
        history.record(START + timedelta(days=i), as_book(book))
        rec = book.records.get("a")
        if rec is None:
            expected[i] = (math.nan, math.nan)
        else:
            weight = float(rec.value) / (float(rec.value) + 100 + i)
            expected[i] = (weight, float(rec.target_weight))
    kept = range(0, 1000, history.stride)
    assert history.ts == [START + timedelta(days=i) for i in kept]
    got = list(zip(history.weights["a"], history.targets["a"], strict=True))
    for i, (weight, target) in zip(kept, got, strict=True):
        want_weight, want_target = expected[i]
        assert (math.isnan(weight) and math.isnan(want_weight)) or weight == pytest.approx(
            want_weight
        ), i
        assert (math.isnan(target) and math.isnan(want_target)) or target == want_target, i


def test_a_history_pickled_in_the_weight_column_layout_is_converted() -> None:
    """Snapshots written by earlier versions held weight and target columns."""
    old = FundHistory.__new__(FundHistory)
    nan = math.nan
    state = {
        "max_points": 100,
        "stride": 1,
        "seen": 3,
        "ts": [START + timedelta(days=i) for i in range(3)],
        "fund_value": [200.0, 200.0, 100.0],
        "reserve_value": [100.0, 100.0, 100.0],
        "weights": {"a": [0.5, 0.5, nan]},
        "targets": {"a": [0.25, 0.5, nan]},
        "_targets_seen": {},
    }
    old.__setstate__(state)
    assert old.values["a"][:2] == [100.0, 100.0] and math.isnan(old.values["a"][2])
    assert old.targets["a"][:2] == [0.25, 0.5] and math.isnan(old.targets["a"][2])
    book = FakeBook(records={"a": FakeRecord(Decimal(100), Decimal("0.5"))})
    old.record(START + timedelta(days=3), as_book(book))
    assert old.targets["a"][3] == 0.5 and old.weights["a"][3] == 0.5
