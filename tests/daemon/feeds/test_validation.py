"""The bad-bar policy: every reason is counted once and a rejected bar is never emitted."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core.market import Bar, Slice
from daemon.feeds import REJECT_REASONS, BarValidator, FeedConfigError, RawBar, ReplayFeed

Rejection = tuple[str, str, datetime, str]
HEADER = "date,symbol,open,high,low,close,volume\n"
BAD_ROWS = """\
2024-01-02,AAA,10,11,9,10.5,100
2024-01-02,BBB,nan,11,9,10,100
2024-01-02,CCC,0,1,0,0.5,100
2024-01-03,AAA,10,9,11,10,100
2024-01-03,BBB,12,11,9,10,100
2024-01-03,CCC,10,11,9,8,100
2024-01-04,AAA,10,11,9,10,-5
2024-01-04,BBB,10,11,9,10,100
2024-01-04,BBB,10,11,9,10.2,200
2024-01-03,CCC,10,11,9,10,100
2024-01-05,ZZZ,10,11,9,10,100
2024-01-05,AAA,10.10,11,9,10,
2024-01-05,BBB,,11,9,10,1
2024-01-05,CCC,1e999999999,1e999999999,9,10,1
"""


def day(d: int) -> datetime:
    return datetime(2024, 1, d, tzinfo=UTC)


async def collect(feed: ReplayFeed) -> list[Slice]:
    return [market async for market in feed]


def write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def replay_bad(tmp_path: Path, policy: str = "reject") -> tuple[ReplayFeed, list[Rejection]]:
    calls: list[Rejection] = []
    validator = BarValidator(
        {"AAA", "BBB", "CCC"},
        duplicate_policy=policy,  # type: ignore[arg-type]
        on_reject=lambda *args: calls.append(args),
    )
    feed = ReplayFeed(write(tmp_path, HEADER + BAD_ROWS), validator=validator)
    return feed, calls


async def test_every_reason_is_counted_and_never_emitted(tmp_path: Path) -> None:
    feed, calls = replay_bad(tmp_path)
    slices = await collect(feed)
    assert [(s.ts, sorted(s)) for s in slices] == [
        (day(2), ["AAA"]),
        (day(4), ["BBB"]),
        (day(5), ["AAA"]),
    ]
    live_only = {"future": 0, "malformed": 0}  # a replay never compares with the wall clock
    assert feed.stats.rejected == dict.fromkeys(REJECT_REASONS, 1) | {"non_finite": 2} | live_only
    assert feed.stats.rejected is feed.validator.rejected
    assert feed.stats.rejected_total == 11
    assert (feed.stats.slices, feed.stats.bars) == (3, 3)
    assert [(reason, symbol, ts) for reason, symbol, ts, _ in calls] == [
        ("non_finite", "BBB", day(2)),
        ("non_positive_price", "CCC", day(2)),
        ("high_below_low", "AAA", day(3)),
        ("open_outside_range", "BBB", day(3)),
        ("close_outside_range", "CCC", day(3)),
        ("negative_volume", "AAA", day(4)),
        ("duplicate", "BBB", day(4)),
        ("out_of_order", "CCC", day(3)),
        ("unknown_symbol", "ZZZ", day(5)),
        ("non_finite", "BBB", day(5)),
        ("out_of_range", "CCC", day(5)),
    ]
    assert all(isinstance(detail, str) and detail for *_, detail in calls)
    # the first of two duplicates is kept under the default policy
    assert slices[1]["BBB"].close == Decimal("10")
    assert slices[1]["BBB"].volume == Decimal("100")
    # a blank volume is unknown, not a defect; prices come from the text
    assert slices[2]["AAA"].volume is None
    assert str(slices[2]["AAA"].open) == "10.10"


async def test_keep_last_keeps_the_last_duplicate(tmp_path: Path) -> None:
    feed, calls = replay_bad(tmp_path, "keep_last")
    slices = await collect(feed)
    assert slices[1]["BBB"] == Bar.of(day(4), "BBB", "10", "11", "9", "10.2", "200")
    assert feed.stats.rejected["duplicate"] == 1
    assert ("duplicate", "BBB", day(4)) in [c[:3] for c in calls]


def test_validator_counts_from_zero_for_every_reason() -> None:
    validator = BarValidator()
    assert validator.rejected == dict.fromkeys(REJECT_REASONS, 0)
    assert validator.symbols is None
    with pytest.raises(FeedConfigError, match="duplicate_policy"):
        BarValidator(duplicate_policy="first")  # type: ignore[arg-type]


def test_late_bars_for_an_emitted_slice() -> None:
    validator = BarValidator()
    a = RawBar(day(3), "AAA", "1", "1", "1", "1")
    b = RawBar(day(3), "BBB", "1", "1", "1", "1")
    assert validator.make_slice(day(3), [a]) is not None
    # a slice is never re-opened: a repeat is a duplicate, a newcomer is late
    assert validator.make_slice(day(3), [a, b]) is None
    assert validator.make_slice(day(2), [RawBar(day(2), "AAA", 1, 1, 1, 1)]) is None
    assert validator.rejected["duplicate"] == 1
    assert validator.rejected["out_of_order"] == 2
    assert validator.last_ts == day(3)


def test_built_bars_pass_symbol_and_order_checks_only() -> None:
    validator = BarValidator({"AAA"}, duplicate_policy="keep_last")
    first = Bar.flat(day(2), "AAA", "5")
    second = Bar.flat(day(2), "AAA", "6")
    market = validator.make_slice(day(2), [first, Bar.flat(day(2), "QQQ", "1"), second])
    assert market == Slice(day(2), {"AAA": second})
    assert validator.rejected["unknown_symbol"] == 1
    assert validator.rejected["duplicate"] == 1
    with pytest.raises(ValueError, match="group"):
        validator.make_slice(day(3), [Bar.flat(day(4), "AAA", "5")])


def test_blank_symbol_is_unknown_and_infinity_is_non_finite() -> None:
    validator = BarValidator()
    rows = [
        RawBar(day(2), " ", 1, 1, 1, 1),
        RawBar(day(2), "AAA", "inf", "inf", 1, 1),
        RawBar(day(2), "BBB", float("nan"), 1, 1, 1),
    ]
    assert validator.make_slice(day(2), rows) is None
    assert validator.last_ts is None
    assert validator.rejected["unknown_symbol"] == 1
    assert validator.rejected["non_finite"] == 2


async def test_unsorted_file_rows_are_out_of_order_unless_sorted_first(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close,Volume\n2024-01-03,1,1,1,1,1\n2024-01-02,2,2,2,2,2\n"
    path = write(tmp_path, text, "aaa.csv")
    plain = ReplayFeed(path)
    assert [s.ts for s in await collect(plain)] == [day(3)]
    assert plain.stats.rejected["out_of_order"] == 1
    resorted = ReplayFeed(path, presorted=False)
    assert [s.ts for s in await collect(resorted)] == [day(2), day(3)]
    assert resorted.stats.rejected_total == 0
    window = ReplayFeed(path, presorted=False, end="2024-01-02", symbols="AAA")
    assert [s.ts for s in await collect(window)] == [day(2)]


# ---- magnitude bounds and the wall clock -------------------------------------------------
def raw(d: int, o: str, h: str, lo: str, c: str, v: object = "100") -> RawBar:
    return RawBar(day(d), "AAA", o, h, lo, c, v)


@pytest.mark.parametrize(
    ("row", "detail"),
    [
        (raw(2, "1e999999999", "1e999999999", "9", "10"), "to 1E+999999999 outside"),
        (raw(2, "10", "1000000000001", "9", "10"), "to 1000000000001 outside"),
        (raw(2, "1e-999999999", "11", "1e-999999999", "10"), "from 1E-999999999 to 11"),
        (raw(2, "10", "11", "9", "10", "1e19"), "volume"),
        (raw(2, "10", "11", "9", "10.123456789012345678901"), "close has more than 20"),
    ],
)
def test_finite_but_huge_or_tiny_values_are_out_of_range(row: RawBar, detail: str) -> None:
    seen: list[Rejection] = []
    validator = BarValidator(on_reject=lambda *r: seen.append(r))
    assert validator.make_slice(row.ts, [row]) is None
    assert validator.rejected["out_of_range"] == 1
    assert validator.rejected_total == 1
    assert seen[0][0] == "out_of_range" and detail in seen[0][3]
    assert validator.last_ts is None  # nothing emitted, the ordering mark did not move


def test_values_at_the_limits_and_trailing_zeros_pass() -> None:
    validator = BarValidator()
    row = raw(2, "1e-12", "1000000000000", "1e-12", "10.5000000000000000000000", "1e18")
    market = validator.make_slice(row.ts, [row])
    assert market is not None and market["AAA"].high == Decimal("1e12")
    assert validator.rejected_total == 0


def test_limits_are_configurable() -> None:
    validator = BarValidator(limits={"max_price": "1e999999999", "max_digits": 40})
    row = raw(2, "1e999999999", "1e999999999", "9", "10")
    assert validator.make_slice(row.ts, [row]) is not None
    strict = BarValidator(limits={"max_price": 10})
    assert strict.make_slice(day(2), [raw(2, "10", "11", "9", "10")]) is None
    assert strict.rejected["out_of_range"] == 1


@pytest.mark.parametrize(
    "limits",
    [
        {"max_price": 0},
        {"min_price": 5, "max_price": 4},
        {"max_digits": 0},
        {"max_size": 1},
        {"max_price": "abc"},
    ],
)
def test_bad_limits_are_configuration_errors(limits: dict[str, object]) -> None:
    with pytest.raises(FeedConfigError):
        BarValidator(limits=limits)


def test_bars_beyond_the_allowed_skew_are_future_and_do_not_block_later_bars() -> None:
    now = day(10).timestamp()
    validator = BarValidator(max_ahead_s=300, wall_clock=lambda: now)
    far = RawBar(datetime(2999, 1, 1, tzinfo=UTC), "AAA", "10", "11", "9", "10")
    assert validator.make_slice(far.ts, [far]) is None
    assert validator.rejected["future"] == 1
    assert validator.last_ts is None
    near = RawBar(datetime.fromtimestamp(now + 299, UTC), "AAA", "10", "11", "9", "10")
    assert validator.make_slice(near.ts, [near]) is not None
    assert validator.to_bar(RawBar(day(11), "AAA", "10", "11", "9", "10")) is None
    assert validator.rejected["future"] == 2
    assert validator.make_slice(day(10), [raw(10, "10", "11", "9", "10")]) is None  # older
    assert validator.rejected["out_of_order"] == 1


def test_replay_validators_do_not_read_the_wall_clock() -> None:
    validator = BarValidator(wall_clock=lambda: pytest.fail("the wall clock was read"))
    far = RawBar(datetime(2999, 1, 1, tzinfo=UTC), "AAA", "10", "11", "9", "10")
    assert validator.make_slice(far.ts, [far]) is not None


def test_malformed_entries_are_counted_with_their_own_reason() -> None:
    seen: list[Rejection] = []
    validator = BarValidator(on_reject=lambda *r: seen.append(r))
    validator.reject_malformed("", "no symbol")
    assert validator.rejected["malformed"] == 1
    assert seen == [("malformed", "", datetime.min.replace(tzinfo=UTC), "no symbol")]
    assert {"malformed", "future", "out_of_range"} <= set(REJECT_REASONS)


def test_duplicates_keep_the_first_bar_under_reject() -> None:
    validator = BarValidator(duplicate_policy="reject")
    first, second = raw(2, "10", "11", "9", "10.5"), raw(2, "10", "11", "9", "10.75")
    market = validator.make_slice(day(2), [first, second])
    assert market is not None and market["AAA"].close == Decimal("10.5")
    assert validator.rejected["duplicate"] == 1


def test_digits_are_counted_on_numbers_as_well_as_on_text() -> None:
    validator = BarValidator(limits={"max_digits": 3})
    built = RawBar(day(2), "AAA", Decimal("10.25"), 11, 9, 10)  # not text: digits counted
    assert validator.make_slice(day(2), [built]) is None
    assert validator.rejected["out_of_range"] == 1
    padded = RawBar(day(3), "AAA", "10.50000", "11", "9", "10")  # trailing zeros do not count
    assert validator.make_slice(day(3), [padded]) is not None
