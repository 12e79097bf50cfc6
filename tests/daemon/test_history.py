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
