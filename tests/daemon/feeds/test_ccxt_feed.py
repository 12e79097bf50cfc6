"""The ccxt feed with the real ccxt client (`ccxt.async_support.binance`) against a local
server answering Binance's REST endpoints in Binance's wire format
(`tests.support.fake_exchange`), in simulated time: the server, the feed's clocks and its
sleeps share one clock, so candles appear as the feed waits for them.

Every test checks slices against the exchange's final candles: a forming candle's values
differ from its final ones, so a feed that took one would fail the comparison."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.market import Slice
from daemon.feeds import CcxtFeed, FeedConfigError, FeedError
from daemon.feeds.candles import to_ms, utc_ms
from tests.support.fake_exchange import FakeBinance

SYMBOLS = ("BTC/USDT", "ETH/USDT")
START = datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC).timestamp()
MINUTE_MS = 60_000
REAL_TIMEOUT_S = 30.0


class SimTime:
    """One clock for the exchange and the feed; the feed's sleeps move it forward."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
def time_() -> SimTime:
    return SimTime()


@pytest.fixture
async def exchange(time_: SimTime) -> AsyncIterator[FakeBinance]:
    async with FakeBinance(SYMBOLS, clock=time_) as server:
        yield server


def feed_of(exchange: FakeBinance, time_: SimTime, **options: object) -> CcxtFeed:
    settings: dict[str, object] = {
        "exchange_options": exchange.exchange_options(timeout_ms=2_000),
        "wall_clock": time_,
        "clock": time_,
        "sleep": time_.sleep,
        **options,
    }
    return CcxtFeed("binance", SYMBOLS, "1m", **settings)  # type: ignore[arg-type]


async def take(feed: CcxtFeed, n: int) -> list[Slice]:
    """The feed's next `n` slices (bounded in real time)."""

    async def collect() -> list[Slice]:
        return [await anext(feed) for _ in range(n)]

    return await asyncio.wait_for(collect(), REAL_TIMEOUT_S)


def minute(k: int) -> datetime:
    """The close of the minute candle opening k minutes after 09:00."""
    return utc_ms(to_ms(datetime(2026, 1, 5, 9, tzinfo=UTC)) + (k + 1) * MINUTE_MS)


def check_final(exchange: FakeBinance, market: Slice, symbols: tuple[str, ...] = SYMBOLS) -> None:
    """Every bar of `market` is its candle's final values (numerically: ccxt hands floats)."""
    assert sorted(market) == sorted(symbols), market
    open_ms = to_ms(market.ts) - MINUTE_MS
    for symbol in symbols:
        _, o, h, lo, c, v = exchange.candle(symbol, "1m", open_ms)
        bar = market[symbol]
        assert (bar.open, bar.high, bar.low, bar.close) == tuple(map(Decimal, (o, h, lo, c)))
        assert bar.volume == Decimal(v)


async def test_warm_up_then_live_candles_each_once_with_their_final_values(
    exchange: FakeBinance, time_: SimTime
) -> None:
    async with feed_of(exchange, time_, warmup_bars=5) as feed:
        slices = await take(feed, 10)
    # 09:00:30: five closed candles of history (08:55-08:59), then 09:00 onwards as they close
    assert [s.ts for s in slices] == [minute(k) for k in range(-5, 5)]
    for market in slices:
        check_final(exchange, market)
    assert feed.stats.errors == dict.fromkeys(feed.stats.errors, 0)
    assert feed.stats.fetches >= 2 * 6  # each symbol: the warm-up, then each live minute
    assert feed.stats.last_bar_ts == dict.fromkeys(SYMBOLS, minute(3))  # before the last yield
    assert time_.now < START + 5 * 60 + 10  # it waited for each candle, not much longer


async def test_a_late_symbol_is_waited_for_then_left_out(
    exchange: FakeBinance, time_: SimTime
) -> None:
    exchange.delay_s["ETH/USDT"] = 25.0  # ETH's candles come 25 s after their close
    async with feed_of(exchange, time_, grace_period_s=40) as patient:
        waited = await take(patient, 3)
    assert [s.ts for s in waited] == [minute(k) for k in range(3)]
    for market in waited:
        check_final(exchange, market)
    async with feed_of(exchange, time_, grace_period_s=10) as hurried:
        left = await take(hurried, 3)
    for market in left:
        check_final(exchange, market, ("BTC/USDT",))  # stepped without ETH after 10 s
    assert hurried.stats.rejected["out_of_order"] >= 2  # ETH's candles, when they came


async def test_429_5xx_and_a_slow_answer_change_nothing_but_the_counters(
    exchange: FakeBinance, time_: SimTime
) -> None:
    async with feed_of(exchange, time_, warmup_bars=3) as clean:
        expected = await take(clean, 8)
    time_.now = START
    exchange.fail_next(2, 429, path="/api/v3/klines", retry_after_s=1)
    exchange.fail_next(2, 503, path="/api/v3/klines")
    exchange.fail_next(1, 500)
    exchange.slow_next(1, 2.5, path="/api/v3/klines")  # beyond the client's 2 s timeout
    async with feed_of(exchange, time_, warmup_bars=3) as faulty:
        got = await take(faulty, 8)
    assert got == expected
    errors = faulty.stats.errors
    assert (errors["rate_limit"], errors["unavailable"], errors["timeout"]) == (2, 3, 1)
    assert errors["network"] == errors["exchange"] == 0


async def test_a_retry_after_is_honoured(exchange: FakeBinance, time_: SimTime) -> None:
    async with feed_of(exchange, time_) as feed:
        first = await take(feed, 1)  # the 09:01 close, polled at 09:01:01
        exchange.fail_next(1, 429, path="/api/v3/klines", retry_after_s=40)
        after = await take(feed, 1)
    assert [first[0].ts, after[0].ts] == [minute(0), minute(1)]
    # the 09:02 poll was refused: the next came 40 s later, not after the 1 s backoff
    assert time_.now >= START + 90 + 40
    assert feed.stats.errors["rate_limit"] == 1


async def test_an_outage_is_caught_up_in_order_once_the_exchange_answers(
    exchange: FakeBinance, time_: SimTime
) -> None:
    exchange.outage(START + 60, START + 12 * 60)  # 503 to everything for 11 minutes
    async with feed_of(exchange, time_, max_backoff_s=120) as feed:
        slices = await take(feed, 20)
    assert [s.ts for s in slices] == [minute(k) for k in range(20)]
    for market in slices:
        check_final(exchange, market)
    assert feed.stats.errors["unavailable"] >= 5
    assert feed.stats.rejected_total == 0


async def test_a_restarted_fund_resumes_after_its_last_slice_without_warm_up(
    exchange: FakeBinance, time_: SimTime
) -> None:
    time_.now = START + 45 * 60  # the fund was down from 09:05 to 09:45
    feed = feed_of(exchange, time_, warmup_bars=100)
    feed.fast_forward(minute(4))  # the journal's last slice: the candle 09:04-09:05
    async with feed:
        slices = await take(feed, 45)
    assert [s.ts for s in slices] == [minute(k) for k in range(5, 50)]
    for market in slices:
        check_final(exchange, market)


async def test_an_exchange_gap_does_not_hold_the_other_symbol(
    exchange: FakeBinance, time_: SimTime
) -> None:
    exchange.missing("ETH/USDT", START + 60, START + 180)  # no ETH candle opens 09:02, 09:03
    # the slices of 09:03 and 09:04 wait for ETH's next candle (09:04, forming), which says
    # none is coming: the grace period (90 s) is not what closes them
    async with feed_of(exchange, time_, grace_period_s=90) as feed:
        slices = await take(feed, 5)
    assert [s.ts for s in slices] == [minute(k) for k in range(5)]
    assert [sorted(s) for s in slices] == [
        list(SYMBOLS),
        list(SYMBOLS),
        ["BTC/USDT"],
        ["BTC/USDT"],
        list(SYMBOLS),
    ]
    assert time_.now < START + 5 * 60 + 10
    assert feed.stats.rejected_total == 0


async def test_a_market_the_exchange_lacks_and_a_lasting_outage_end_the_feed_clearly(
    exchange: FakeBinance, time_: SimTime
) -> None:
    options = exchange.exchange_options(timeout_ms=2_000)
    wrong = CcxtFeed(
        "binance", ["BTC/USDT", "DOGE/EUR"], "1m", exchange_options=options, wall_clock=time_
    )
    with pytest.raises(FeedConfigError, match="binance has no market DOGE/EUR"):
        await take(wrong, 1)
    exchange.outage(START, START + 3600)
    async with feed_of(exchange, time_, reconnect_attempts=2) as feed:
        with pytest.raises(FeedError, match=r"binance failed 3 times in a row, last: .*503"):
            await take(feed, 1)
    assert feed.stats.errors["unavailable"] == 3
