"""The fake Binance server (`tests/support/fake_exchange.py`) against the real ccxt client, no
mocks: markets, candles as the injected clock moves, late symbols, holes, and the exceptions
ccxt raises for each fault; then the server as a child process."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from tests.support.binance_wire import API_PATHS
from tests.support.fake_candles import Candle, forming_candle
from tests.support.fake_exchange import FakeBinance, FakeExchangeProcess, exchange_options

MINUTE_MS = 60_000
BASE_S = 1_700_000_040.0  # 2023-11-14T22:14:00Z, the open of a minute
BASE_MS = int(BASE_S * 1000)
KLINES = "/api/v3/klines"


class ManualClock:
    """The server's now, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(BASE_S + 30)


@pytest.fixture
async def server(clock: ManualClock) -> AsyncIterator[FakeBinance]:
    async with FakeBinance(clock=clock) as fake:
        yield fake


@pytest.fixture
async def exchange(server: FakeBinance) -> AsyncIterator[Any]:
    client = ccxt.binance(server.exchange_options())
    try:
        yield client
    finally:
        await client.close()


def as_ccxt(candle: Candle) -> list[float]:
    """A candle as ccxt's fetch_ohlcv gives it: [ms, open, high, low, close, volume]."""
    return [candle[0], *(float(value) for value in candle[1:])]


def opens(bars: list[list[float]]) -> list[int]:
    return [int(bar[0]) for bar in bars]


async def test_every_api_url_ccxt_knows_points_at_the_server(server: FakeBinance) -> None:
    client = ccxt.binance(server.exchange_options())
    try:
        assert set(client.urls["api"]) == set(API_PATHS)  # a key ccxt adds would escape
        assert all(url.startswith(server.url + "/") for url in client.urls["api"].values())
    finally:
        await client.close()


async def test_load_markets_gives_the_spot_markets_in_one_request(
    server: FakeBinance, exchange: Any
) -> None:
    markets = await exchange.load_markets()
    assert sorted(markets) == ["BTC/USDT", "ETH/USDT"]
    btc, eth = markets["BTC/USDT"], markets["ETH/USDT"]
    assert (btc["id"], btc["base"], btc["quote"]) == ("BTCUSDT", "BTC", "USDT")
    assert btc["type"] == "spot" and btc["spot"] and btc["active"]
    assert btc["precision"]["price"] == 0.01
    assert (btc["precision"]["amount"], eth["precision"]["amount"]) == (0.00001, 0.0001)
    assert btc["limits"]["cost"]["min"] == 5.0
    # no fapi/dapi exchangeInfo, no currencies: anything else would be counted here
    assert server.requests == Counter({"/api/v3/exchangeInfo": 1})
    assert await exchange.fetch_time() == int((BASE_S + 30) * 1000)


async def test_closed_candles_in_order_then_the_forming_one(
    clock: ManualClock, server: FakeBinance, exchange: Any
) -> None:
    since = BASE_MS - 5 * MINUTE_MS
    bars = await exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=10)
    closed = [server.candle("BTC/USDT", "1m", since + i * MINUTE_MS) for i in range(5)]
    assert bars[:5] == [as_ccxt(candle) for candle in closed]
    final = server.candle("BTC/USDT", "1m", BASE_MS)
    forming = bars[5]
    assert len(bars) == 6 and forming[0] == BASE_MS  # nothing after the minute of now
    assert forming == as_ccxt(forming_candle(final, "BTC/USDT", "1m", 30_000))
    assert forming[1] == float(final[1])  # the open is final, the rest is half made
    assert forming[4] != float(final[4]) and forming[5] < float(final[5])
    assert forming[2] <= float(final[2]) and forming[3] >= float(final[3])
    assert server.served_klines == [("BTC/USDT", candle[0]) for candle in closed]

    clock.now += 60  # the forming minute closes, the next one forms
    bars = await exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=10)
    assert opens(bars) == [since + i * MINUTE_MS for i in range(7)]
    assert bars[5] == as_ccxt(final)
    assert bars[6][0] == BASE_MS + MINUTE_MS and bars[6][5] < float(
        server.candle("BTC/USDT", "1m", BASE_MS + MINUTE_MS)[5]
    )


async def test_limit_since_and_until_select_as_binance_does(
    server: FakeBinance, exchange: Any
) -> None:
    latest = await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=3)
    assert opens(latest) == [BASE_MS - 2 * MINUTE_MS, BASE_MS - MINUTE_MS, BASE_MS]
    first_two = await exchange.fetch_ohlcv("BTC/USDT", "1m", since=BASE_MS - 600_000, limit=2)
    assert opens(first_two) == [BASE_MS - 600_000, BASE_MS - 540_000]
    unaligned = await exchange.fetch_ohlcv("BTC/USDT", "1m", since=BASE_MS - 150_000)
    assert opens(unaligned) == [BASE_MS - 120_000, BASE_MS - 60_000, BASE_MS]
    until = BASE_MS - MINUTE_MS
    upto = await exchange.fetch_ohlcv(
        "BTC/USDT", "1m", since=BASE_MS - 180_000, params={"until": until}
    )
    assert opens(upto) == [BASE_MS - 180_000, BASE_MS - 120_000, BASE_MS - 60_000]
    hourly = await exchange.fetch_ohlcv("ETH/USDT", "1h", limit=2)
    hour_ms = 3_600_000
    assert opens(hourly) == [BASE_MS // hour_ms * hour_ms - hour_ms, BASE_MS // hour_ms * hour_ms]
    assert hourly[0] == as_ccxt(server.candle("ETH/USDT", "1h", opens(hourly)[0]))
    seconds = await exchange.fetch_ohlcv("BTC/USDT", "1s", limit=3)
    now_ms = BASE_MS + 30_000
    assert opens(seconds) == [now_ms - 2000, now_ms - 1000, now_ms]


def test_candles_depend_only_on_seed_symbol_timeframe_and_time() -> None:
    one, same, other = FakeBinance(seed=1), FakeBinance(seed=1), FakeBinance(seed=2)
    times = [BASE_MS + i * MINUTE_MS for i in range(50)]
    candles = [one.candle("BTC/USDT", "1m", t) for t in times]
    assert candles == [same.candle("BTC/USDT", "1m", t) for t in times]
    assert candles != [other.candle("BTC/USDT", "1m", t) for t in times]
    for before, after in itertools.pairwise(candles):
        assert before[4] == after[1]  # a candle closes where the next opens
    for symbol, base, places in (
        ("BTC/USDT", 30_000, 5),
        ("ETH/USDT", 2_000, 4),
        ("SOL/USDT", 100, 3),
    ):
        for t in times:
            _, *prices, volume = (Decimal(v) for v in one.candle(symbol, "1m", t))
            low, high = prices[2], prices[1]
            assert all(0.9 * base < p < 1.1 * base for p in prices)
            assert all(p.as_tuple().exponent == -2 for p in prices)
            assert low <= min(prices[0], prices[3]) and high >= max(prices[0], prices[3])
            assert volume > 0 and volume.as_tuple().exponent == -places
    with pytest.raises(ValueError, match="not the open time"):
        one.candle("BTC/USDT", "1m", BASE_MS + 1)


async def test_a_late_symbol_publishes_its_candles_after_the_delay(
    clock: ManualClock, server: FakeBinance, exchange: Any
) -> None:
    server.delay_s["ETH/USDT"] = 20.0
    clock.now = BASE_S + 19.999
    btc = await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=2)
    assert opens(btc) == [BASE_MS - MINUTE_MS, BASE_MS]  # on time
    eth = await exchange.fetch_ohlcv("ETH/USDT", "1m", limit=2)
    # as of 20 s ago: the minute before BASE is still forming, BASE's not there at all
    assert opens(eth) == [BASE_MS - 2 * MINUTE_MS, BASE_MS - MINUTE_MS]
    late = server.candle("ETH/USDT", "1m", BASE_MS - MINUTE_MS)
    assert eth[1] == as_ccxt(forming_candle(late, "ETH/USDT", "1m", 59_999))
    assert ("ETH/USDT", BASE_MS - MINUTE_MS) not in server.served_klines

    clock.now = BASE_S + 20
    eth = await exchange.fetch_ohlcv("ETH/USDT", "1m", limit=2)
    assert opens(eth) == [BASE_MS - MINUTE_MS, BASE_MS]
    assert eth[0] == as_ccxt(late)
    assert eth[1][5] == 0.0  # BASE's minute has just begun, as of 20 s ago
    assert ("ETH/USDT", BASE_MS - MINUTE_MS) in server.served_klines


async def test_missing_candles_leave_a_hole(server: FakeBinance, exchange: Any) -> None:
    server.missing("BTC/USDT", BASE_S - 240, BASE_S - 120)
    since = BASE_MS - 360_000
    btc = await exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=10)
    offsets_s = [-360, -300, -120, -60, 0]
    assert opens(btc) == [BASE_MS + s * 1000 for s in offsets_s]
    assert btc[2] == as_ccxt(server.candle("BTC/USDT", "1m", BASE_MS - 120_000))
    three = await exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=3)
    assert opens(three) == opens(btc)[:3]  # the limit counts the candles there are
    latest = await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=4)
    assert opens(latest) == opens(btc)[1:]
    eth = await exchange.fetch_ohlcv("ETH/USDT", "1m", since=since, limit=10)
    assert len(eth) == 7  # another symbol has no hole


async def test_bad_symbol_and_interval_answer_binance_errors(
    server: FakeBinance, exchange: Any
) -> None:
    await exchange.load_markets()
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        await exchange.publicGetKlines({"symbol": "XRPUSDT", "interval": "1m"})
    with pytest.raises(ccxt.BadRequest, match="-1120"):
        await exchange.fetch_ohlcv("BTC/USDT", "7m")
    before = server.requests[KLINES]
    with pytest.raises(ccxt.BadSymbol):  # ccxt refuses it itself, from its markets
        await exchange.fetch_ohlcv("XRP/USDT", "1m")
    assert server.requests[KLINES] == before


@pytest.mark.parametrize("status", [429, 418])
async def test_rate_limit_and_ban_raise_ddos_protection(
    status: int, server: FakeBinance, exchange: Any
) -> None:
    server.fail_next(1, status, path=KLINES, retry_after_s=7)
    await exchange.load_markets()  # another path: not failed
    with pytest.raises(ccxt.DDoSProtection, match="-1003") as caught:
        await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=2)
    # binance's handle_errors raises on the status before it reads the code: not the subclass
    assert type(caught.value) is ccxt.DDoSProtection
    assert exchange.last_response_headers["Retry-After"] == "7"
    assert len(await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=2)) == 2
    assert server.requests == Counter({"/api/v3/exchangeInfo": 1, KLINES: 2})


@pytest.mark.parametrize(
    ("status", "raised"),
    [
        (500, ccxt.ExchangeNotAvailable),
        (502, ccxt.ExchangeNotAvailable),
        (503, ccxt.ExchangeNotAvailable),
        (504, ccxt.RequestTimeout),
    ],
)
async def test_server_errors(
    status: int, raised: type[Exception], server: FakeBinance, exchange: Any
) -> None:
    await exchange.load_markets()
    server.fail_next(2, status)
    for _ in range(2):
        with pytest.raises(raised) as caught:
            await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=2)
        assert type(caught.value) is raised
        # 500 with an empty body, the others with the CDN's page
        assert (exchange.last_http_response == "") == (status == 500)
        assert ("<html>" in exchange.last_http_response) == (status != 500)
    assert len(await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=2)) == 2


async def test_an_answer_slower_than_the_timeout_raises_request_timeout(
    clock: ManualClock,
) -> None:
    async with FakeBinance(clock=clock) as server:
        client = ccxt.binance(server.exchange_options(timeout_ms=500))
        try:
            await client.load_markets()
            server.slow_next(1, 0.05, path=KLINES)  # within the timeout: answered
            assert len(await client.fetch_ohlcv("BTC/USDT", "1m", limit=2)) == 2
            server.slow_next(1, 30.0, path=KLINES)
            asked = time.monotonic()
            with pytest.raises(ccxt.RequestTimeout):
                await client.fetch_ohlcv("BTC/USDT", "1m", limit=2)
            assert time.monotonic() - asked < 5  # the client gave up, the server still waits
            assert len(await client.fetch_ohlcv("BTC/USDT", "1m", limit=2)) == 2
        finally:
            await client.close()
        closing = time.monotonic()
    # closing the server cuts the 30 s answer short instead of waiting for it
    assert time.monotonic() - closing < 1


async def test_an_outage_answers_its_status_to_every_request(
    clock: ManualClock, server: FakeBinance, exchange: Any
) -> None:
    await exchange.load_markets()
    server.outage(BASE_S + 60, BASE_S + 120)
    clock.now = BASE_S + 59.999
    assert len(await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=2)) == 2
    clock.now = BASE_S + 60
    calls = [
        lambda: exchange.fetch_ohlcv("BTC/USDT", "1m", limit=2),
        exchange.fetch_time,
        lambda: exchange.load_markets(reload=True),
        exchange.publicGetPing,
    ]
    for call in calls:
        with pytest.raises(ccxt.ExchangeNotAvailable, match="503"):
            await call()
    clock.now = BASE_S + 120
    assert opens(await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=1)) == [BASE_MS + 120_000]
    assert await exchange.publicGetPing() == {}


async def test_the_wire_format(clock: ManualClock, server: FakeBinance) -> None:
    async with aiohttp.ClientSession(server.url) as http:
        query = {"symbol": "BTCUSDT", "interval": "1m", "limit": "2"}
        async with http.get(KLINES, params=query) as response:
            assert response.status == 200
            closed, forming = await response.json()
        final = server.candle("BTC/USDT", "1m", BASE_MS - MINUTE_MS)
        assert closed[0] == BASE_MS - MINUTE_MS and closed[6] == BASE_MS - 1
        assert [Decimal(v) for v in closed[1:6]] == [Decimal(v) for v in final[1:]]
        assert all(isinstance(v, str) and len(v.split(".")[1]) == 8 for v in closed[1:6])
        assert isinstance(closed[8], int) and closed[8] > 0 and closed[11] == "0"
        assert Decimal(closed[9]) <= Decimal(closed[5]) and Decimal(closed[7]) > 0
        assert forming[0] == BASE_MS and forming[6] == BASE_MS + MINUTE_MS - 1
        async with http.get("/api/v3/time") as response:
            assert await response.json() == {"serverTime": int(clock.now * 1000)}
        async with http.get("/api/v3/klines", params={"interval": "1m"}) as response:
            assert response.status == 400 and (await response.json())["code"] == -1102
        query = {"symbol": "BTCUSDT", "interval": "1m", "startTime": "2", "endTime": "1"}
        async with http.get(KLINES, params=query) as response:
            assert response.status == 400 and (await response.json())["code"] == -1023
        async with http.get("/fapi/v1/exchangeInfo") as response:
            assert response.status == 404
    assert server.requests["/fapi/v1/exchangeInfo"] == 1


async def test_the_server_as_a_process() -> None:
    local = FakeBinance(seed=1)  # the same candles, computed here
    async with FakeExchangeProcess(delay_s={"ETH/USDT": 3600}) as process:
        child, url = process.process, process.url
        assert child is not None and child.poll() is None
        client = ccxt.binance(process.exchange_options())
        try:
            bars = await client.fetch_ohlcv("BTC/USDT", "1m", limit=3)
            late = await client.fetch_ohlcv("ETH/USDT", "1m", limit=1)
        finally:
            await client.close()
    assert [as_ccxt(local.candle("BTC/USDT", "1m", int(bar[0]))) for bar in bars[:2]] == bars[:2]
    assert late[0][0] < time.time() * 1000 - 3_500_000  # an hour late, as told
    assert process.process is None and child.returncode == 0  # stopped by SIGTERM, cleanly
    with pytest.raises(ProcessLookupError):
        os.kill(child.pid, 0)
    client = ccxt.binance(exchange_options(url))
    try:
        with pytest.raises(ccxt.ExchangeNotAvailable):  # nothing listens there any more
            await client.fetch_time()
    finally:
        await client.close()


async def test_a_process_that_cannot_listen_says_why_and_is_gone() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = FakeExchangeProcess(port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match=r"exited with 1 (?s:.*)Address already in use"):
            await asyncio.to_thread(process.start)
    assert process.process is None
