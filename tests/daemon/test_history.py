"""The equity history: bounded by decimation, deterministic, and recorded by the engine."""

from __future__ import annotations

import math
import pickle
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest

from core.book import FundBook
from core.ledger import Ledger
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
    targets_version: object = field(default_factory=object)

    def admit(self, sid: str, value: int, target: Decimal) -> None:
        """Enter (or replace) a record, as `FundBook.admit` does: a new targets version."""
        self.records[sid] = FakeRecord(Decimal(value), target)
        self.targets_version = object()

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
    book.admit("a", 100, Decimal("0.25"))
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
            book.admit("a", 10 + i % 7, Decimal(i % 11) / 100)
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


def _feed_rows(history: FundHistory, book: FakeBook, row: Any) -> None:
    for i in range(300):
        for sid, rec in book.records.items():
            rec.value = Decimal(10 ** ((i + ord(sid[0])) % 9)) / 7  # magnitudes 0.1 to 1e7
        book.reserve.portfolio_value = Decimal(100 + i)
        history.record(START + timedelta(days=i), as_book(book), row and (lambda: row(book)))


def _readings(history: FundHistory) -> tuple[Any, ...]:
    return (*columns(history), history.values, history.targets, history.strategy_ids)


def test_values_handed_over_in_another_order_record_as_the_book_reads_them() -> None:
    """The engine hands over its shards' values in shard order: the same history, to the
    last bit (the fund's value is an exactly rounded sum), as reading the book."""

    def shuffled(book: FakeBook) -> tuple[list[str], Any]:
        ids = sorted(book.records, key=lambda sid: hash(sid) % 7)[::-1]
        return ids, array("d", [float(book.records[sid].value) for sid in ids])

    def histories(row: Any) -> FundHistory:
        history, book = FundHistory(max_points=64), FakeBook()
        for n, sid in enumerate("abcdefg"):
            book.admit(sid, 1, Decimal(n) / 100)
        _feed_rows(history, book, row)
        return history

    from_book, handed = histories(None), histories(shuffled)
    assert _readings(handed) == _readings(from_book)
    assert handed.strategy_ids == list("abcdefg")  # the book's order, not the rows'
    assert len(handed.rosters) == 1


def test_values_handed_over_for_other_strategies_than_the_books_are_not_used() -> None:
    """A row that misses one of the book's strategies, or names one it does not hold, is
    set aside: the history reads the book."""

    def wrong(book: FakeBook) -> tuple[list[str], Any]:
        ids = [*list(book.records)[1:], "ghost"]
        return ids, array("d", [1e9] * len(ids))

    history, book = FundHistory(max_points=64), FakeBook()
    for sid in "abc":
        book.admit(sid, 1, Decimal("0.3"))
    straight = FundHistory(max_points=64)
    _feed_rows(history, book, wrong)
    _feed_rows(straight, book, None)
    assert _readings(history) == _readings(straight)
    assert "ghost" not in history.values


def test_a_history_pickled_in_the_value_column_layout_is_converted() -> None:
    """Snapshots written before rows were stored held a value column per strategy."""
    nan = math.nan
    old = FundHistory.__new__(FundHistory)
    old.__setstate__(
        {
            "max_points": 100,
            "stride": 1,
            "seen": 4,
            "ts": [START + timedelta(days=i) for i in range(4)],
            "fund_value": [150.0, 200.0, 300.0, 200.0],
            "reserve_value": [100.0] * 4,
            "values": {"a": [50.0, 50.0, 100.0, nan], "b": [nan, 50.0, 100.0, 100.0]},
            "target_changes": {"a": [(0, 0.5), (3, nan)], "b": [(1, 0.25)]},
            "_last_target": {"a": None, "b": Decimal("0.25")},
        }
    )
    assert old.strategy_ids == ["a", "b"]
    assert old.values["a"][:3] == [50.0, 50.0, 100.0] and math.isnan(old.values["a"][3])
    assert math.isnan(old.values["b"][0]) and old.values["b"][1:] == [50.0, 100.0, 100.0]
    book = FakeBook(records={"b": FakeRecord(Decimal(300), Decimal("0.75"))})
    old.record(START + timedelta(days=4), as_book(book))
    assert old.values["b"][4] == 300.0 and old.targets["b"][3:] == [0.25, 0.75]
    assert math.isnan(old.values["a"][4]) and math.isnan(old.targets["a"][4])


def test_a_book_pickled_before_it_marked_its_target_changes_gets_a_mark() -> None:
    book = FundBook(Ledger())
    state = pickle.loads(pickle.dumps(book)).__dict__
    del state["targets_version"]
    old = FundBook.__new__(FundBook)
    old.__setstate__(state)
    history = FundHistory()
    history.record(START, old)
    assert history._targets_seen is old.targets_version is not None
