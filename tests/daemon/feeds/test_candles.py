"""The ccxt feed's slice rules (`daemon.feeds.candles`) on candles as ccxt gives them: closed
candles only, dated at their close; a slice waits for every symbol, then its grace period;
repeated answers, exchange gaps and catch-ups take every candle exactly once, in order."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from core.market import Slice
from daemon.feeds.candles import CandleBook, to_ms
from daemon.feeds.validation import BarValidator

MINUTE = 60_000
T0 = to_ms(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def candle(k: int, close: float = 100.0) -> list[object]:
    """The candle opening k minutes after T0."""
    return [T0 + k * MINUTE, close - 1, close + 1, close - 2, close, 5.0]


def book(clock: Clock, symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")) -> CandleBook:
    validator = BarValidator(symbols)
    return CandleBook(
        symbols, MINUTE, validator, start_ms=T0, grace_period_s=10, settle_s=1, clock=clock
    )


def at(k: int, seconds: float = 0.0) -> int:
    """The wall clock (ms) k minutes after T0, plus `seconds`."""
    return T0 + k * MINUTE + round(seconds * 1000)


def closes(slices: list[Slice]) -> list[tuple[datetime, list[str]]]:
    return [(s.ts, sorted(s)) for s in slices]


def minute(k: int) -> datetime:
    return datetime.fromtimestamp((T0 + k * MINUTE) / 1000, tz=UTC)


def test_a_forming_candle_is_never_a_bar_and_bars_are_dated_at_their_close() -> None:
    clock = Clock()
    b = book(clock, ("BTC/USDT",))
    # at 09:02:30 the exchange answers 09:00, 09:01 (closed) and 09:02 (forming)
    assert b.offer("BTC/USDT", [candle(0), candle(1, 101), candle(2, 999)], at(2, 30)) == 2
    slices = b.due()
    assert closes(slices) == [(minute(1), ["BTC/USDT"]), (minute(2), ["BTC/USDT"])]
    assert slices[1]["BTC/USDT"].close == Decimal(101)
    assert b.since("BTC/USDT") == T0 + 2 * MINUTE  # the forming candle is asked for again
    # the same answer again, then the candle closed: it is taken once, with its final values
    assert b.offer("BTC/USDT", [candle(1, 101), candle(2, 999)], at(2, 40)) == 0
    assert b.offer("BTC/USDT", [candle(2, 102), candle(3, 5)], at(3, 5)) == 1
    assert [s["BTC/USDT"].close for s in b.due()] == [Decimal(102)]


def test_the_last_candle_counts_as_closed_once_the_clock_is_settle_s_past_its_close() -> None:
    b = book(Clock(), ("BTC/USDT",))
    assert b.offer("BTC/USDT", [candle(0)], at(1, 0.5)) == 0  # closed 0.5 s ago: not settled
    assert b.offer("BTC/USDT", [candle(0)], at(1, 1.0)) == 1
    assert closes(b.due()) == [(minute(1), ["BTC/USDT"])]


def test_a_slice_waits_for_every_symbol_then_closes_without_a_late_one() -> None:
    clock = Clock()
    b = book(clock)
    b.offer("BTC/USDT", [candle(0), candle(1)], at(1, 30))
    assert b.due() == []  # ETH/USDT has not answered for 09:01 yet
    clock.now = 9.9
    assert b.due() == []
    assert b.grace_deadline() == 10.0
    clock.now = 10.0
    assert closes(b.due()) == [(minute(1), ["BTC/USDT"])]  # the grace is over
    # ETH's candle for 09:01 comes late: rejected as out of order, never in a slice
    b.offer("ETH/USDT", [candle(0), candle(1), candle(2)], at(2, 30))
    assert b.validator.rejected["out_of_order"] == 1
    b.offer("BTC/USDT", [candle(1), candle(2)], at(2, 30))
    assert closes(b.due()) == [(minute(2), ["BTC/USDT", "ETH/USDT"])]


def test_a_symbol_without_a_candle_in_an_interval_does_not_hold_the_slice() -> None:
    b = book(Clock())
    b.offer("BTC/USDT", [candle(0), candle(1), candle(2)], at(2, 30))
    # ETH had no trade in 09:00-09:01: its next candle opens at 09:01
    b.offer("ETH/USDT", [candle(1), candle(2)], at(2, 30))
    assert closes(b.due()) == [
        (minute(1), ["BTC/USDT"]),
        (minute(2), ["BTC/USDT", "ETH/USDT"]),
    ]


def test_a_catch_up_takes_every_candle_once_in_order() -> None:
    b = book(Clock())
    for symbol in b.symbols:  # a day of minutes, in three overlapping pages
        history = [candle(k, 100 + k) for k in range(1441)]
        pages = [history[:600], history[500:1100], history[1000:]]
        for page in pages:
            b.offer(symbol, page, at(1440, 20))
    slices = b.due()
    assert [s.ts for s in slices] == [minute(k) for k in range(1, 1441)]
    assert all(sorted(s) == ["BTC/USDT", "ETH/USDT"] for s in slices)
    assert [s["ETH/USDT"].close for s in slices[:3]] == [Decimal(100), Decimal(101), Decimal(102)]
    assert b.validator.rejected_total == 0
    assert b.since("BTC/USDT") == T0 + 1440 * MINUTE


def test_resuming_after_a_slice_takes_only_the_candles_after_it() -> None:
    validator = BarValidator(["BTC/USDT"])
    start = T0 + 3 * MINUTE  # the fund processed the slice at 09:03
    b = CandleBook(
        ["BTC/USDT"], MINUTE, validator, start_ms=start, grace_period_s=10, settle_s=1,
        clock=Clock(),
    )  # fmt: skip
    assert b.since("BTC/USDT") == start
    b.offer("BTC/USDT", [candle(k) for k in range(6)], at(5, 30))
    assert [s.ts for s in b.due()] == [minute(4), minute(5)]


def test_a_candle_dated_far_ahead_is_rejected_and_moves_no_cursor() -> None:
    now_ms = at(1, 30)
    wall = Clock()
    wall.now = now_ms / 1000
    validator = BarValidator(["BTC/USDT"], max_ahead_s=300, wall_clock=wall)
    b = CandleBook(
        ["BTC/USDT"], MINUTE, validator, start_ms=T0, grace_period_s=10, settle_s=1,
        clock=Clock(),
    )  # fmt: skip
    year_2999 = (to_ms(datetime(2999, 1, 1, tzinfo=UTC)) - T0) // MINUTE
    # a real closed candle, then two from a bogus clock (the second "closes" the first)
    b.offer("BTC/USDT", [candle(0), candle(year_2999), candle(year_2999 + 1)], now_ms)
    assert validator.rejected["future"] == 1  # the first of them; the rest with it
    assert b.since("BTC/USDT") == T0 + MINUTE  # the cursor stayed on the real candles
    assert [s.ts for s in b.due()] == [minute(1)]
    # a forming candle from the far future does not move the cursor either
    b.offer("BTC/USDT", [candle(year_2999)], now_ms)
    assert b.since("BTC/USDT") == T0 + MINUTE
    later = at(2, 30)
    wall.now = later / 1000
    assert b.offer("BTC/USDT", [candle(1), candle(2)], later) == 1  # real candles still come
    assert [s.ts for s in b.due()] == [minute(2)]


def test_a_malformed_candle_is_counted_and_the_rest_are_taken() -> None:
    b = book(Clock(), ("BTC/USDT",))
    bad: list[object] = [[T0], [None, 1, 2, 3, 4], ["x", 1, 2, 3, 4, 5], [True, 1, 2, 3, 4, 5]]
    taken = b.offer("BTC/USDT", [*bad, candle(0), candle(1)], at(1, 30))  # type: ignore[list-item]
    assert taken == 1
    assert b.validator.rejected["malformed"] == 4
    assert [s.ts for s in b.due()] == [minute(1)]
