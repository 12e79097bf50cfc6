"""A fake Binance spot REST API on loopback, for tests that run the real ccxt client.

`FakeBinance` answers what `ccxt.async_support.binance` (or `ccxt.binance`) asks for
`load_markets()` and `fetch_ohlcv()` in Binance's wire format: `GET /api/v3/exchangeInfo`,
`/api/v3/klines`, `/api/v3/time` and `/api/v3/ping`; any other path answers 404 (counted in
`requests` like every request). Its "now" is an injected clock (Unix seconds), so a test moves
time by hand; candles come from `tests.support.fake_candles` and depend only on (seed, symbol,
timeframe, open time), so `candle()` says what a closed kline holds. Klines follow Binance:
open times >= startTime (<= endTime), at most `limit` (default 500, at most 1000), up to the
one containing now, which is still forming (partial close, high, low and volume); without
startTime, the latest `limit`. Prices on the wire have 8 places ("30012.34000000") where
`candle()` gives "30012.34": compare them as numbers.

Pass `server.exchange_options()` to the ccxt constructor (`binance_wire.exchange_options`
says why each option is there): every API URL ccxt knows for Binance points at this server, and
only spot markets load, so `load_markets()` makes exactly one request, exchangeInfo.

Faults and what ccxt 4.5 raises for them (asserted in tests/daemon/feeds/test_fake_exchange.py):

- 429 and 418 (`fail_next`): `ccxt.DDoSProtection`, exactly, not its subclass
  `RateLimitExceeded`: binance's `handle_errors` raises it on the status before it reads the
  body's code -1003.
- 500, 502, 503 (`fail_next`, `outage`; an empty body for 500, the CDN's HTML page otherwise):
  `ccxt.ExchangeNotAvailable`. 504 gives `ccxt.RequestTimeout` (ccxt maps that status so).
- an answer slower than the client's `timeout` (`slow_next`): `ccxt.RequestTimeout`.
- unknown symbol on the wire (400 -1121): `ccxt.BadSymbol`; bad interval (400 -1120):
  `ccxt.BadRequest`. (ccxt itself raises `BadSymbol` for a symbol missing from its markets
  before any request.)
- nothing listening (the server closed, the process stopped): `ccxt.ExchangeNotAvailable`.

Run as a process for end-to-end tests: `python -m tests.support.fake_exchange --symbols
BTC/USDT ETH/USDT [--seed 1] [--port 0]` prints its URL on one line once it listens and
serves on the real clock until SIGTERM or SIGINT (exit 0); `--delay SYMBOL=SECONDS` sets
`delay_s`. `FakeExchangeProcess` (`tests.support.fake_exchange_process`, importable from here
too) does that from a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.support.binance_wire import (
    error_response,
    exchange_info,
    exchange_options,
    fault_response,
    kline_row,
    market_id,
)
from tests.support.fake_candles import INTERVAL_MS, Candle, final_candle, forming_candle
from tests.support.fake_exchange_process import FakeExchangeProcess

__all__ = ["FakeBinance", "FakeExchangeProcess", "exchange_options", "market_id"]

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
SERVED_KLINES_KEPT = 100_000  # past this the older half of `served_klines` is dropped
SHUTDOWN_TIMEOUT_S = 2.0


@dataclass
class _Planned:
    """`count` more requests (to `path`, or to any path) get this fault."""

    count: int
    path: str | None
    status: int = 0
    retry_after_s: float | None = None
    delay_s: float = 0.0


class _BadRequest(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    text = query.get(name)
    if text is None:
        return None
    if not text.isdigit():
        legal = "'^[0-9]{1,20}$'"
        msg = f"Illegal characters found in parameter '{name}'; legal range is {legal}."
        raise _BadRequest(-1100, msg)
    return int(text)


class FakeBinance:
    """Binance's spot market-data REST API for `symbols`, on 127.0.0.1 at a free port."""

    def __init__(
        self,
        symbols: Sequence[str] = ("BTC/USDT", "ETH/USDT"),
        *,
        clock: Callable[[], float] = time.time,
        seed: int = 1,
    ) -> None:
        self.symbols = tuple(symbols)
        self.seed = seed
        self._clock = clock
        self._by_id = {market_id(symbol): symbol for symbol in self.symbols}
        self.delay_s: dict[str, float] = {}
        """Per symbol: a candle is published only at its close + this (server-clock seconds)."""
        self.requests: Counter[str] = Counter()
        self.served_klines: list[tuple[str, int]] = []
        """(symbol, open ms) of every closed kline served, the newest SERVED_KLINES_KEPT."""
        self._outages: list[tuple[float, float, int]] = []
        self._failures: list[_Planned] = []
        self._slow: list[_Planned] = []
        self._missing: dict[str, list[tuple[int, int]]] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing: asyncio.Event | None = None  # made in start(), in the serving loop
        self._routes: dict[str, Callable[[Mapping[str, str], int], web.Response]] = {
            "/api/v3/exchangeInfo": lambda _query, now_ms: web.json_response(
                exchange_info(self.symbols, now_ms)
            ),
            "/api/v3/klines": self._klines,
            "/api/v3/time": lambda _query, now_ms: web.json_response({"serverTime": now_ms}),
            "/api/v3/ping": lambda _query, _now_ms: web.json_response({}),
        }

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._closing = asyncio.Event()
        self._runner, self._port = runner, int(sock.getsockname()[1])

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            assert self._closing is not None
            self._closing.set()  # wakes the slow answers, so shutdown does not wait for them
            await runner.cleanup()

    async def __aenter__(self) -> FakeBinance:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeBinance is not started")
        return f"http://127.0.0.1:{self._port}"

    def exchange_options(self, *, timeout_ms: int = 10_000) -> dict[str, Any]:
        """Constructor options for `ccxt.binance` / `ccxt.async_support.binance` that make it
        talk to this server only (`binance_wire.exchange_options`)."""
        return exchange_options(self.url, timeout_ms=timeout_ms)

    # -- what the exchange holds -------------------------------------------------------------

    def candle(self, symbol: str, timeframe: str, open_ms: int) -> Candle:
        """The final candle of `symbol` opening at `open_ms`, as served once it has closed."""
        return final_candle(self.seed, symbol, timeframe, open_ms)

    def now_ms(self) -> int:
        return math.floor(self._clock() * 1000)

    # -- faults ------------------------------------------------------------------------------

    def outage(self, start: float, end: float, status: int = 503) -> None:
        """Every request while start <= now < end (server clock) answers `status`."""
        self._outages.append((start, end, status))

    def fail_next(
        self,
        n: int,
        status: int = 429,
        *,
        path: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """The next `n` requests (to `path` only, if given) answer `status` with the body
        Binance gives for it; queued after any earlier `fail_next`."""
        self._failures.append(_Planned(n, path, status=status, retry_after_s=retry_after_s))

    def slow_next(self, n: int, delay_s: float, *, path: str | None = None) -> None:
        """The next `n` requests (to `path` only, if given) answer after `delay_s` real seconds."""
        self._slow.append(_Planned(n, path, delay_s=delay_s))

    def missing(self, symbol: str, start: float, end: float) -> None:
        """No candle of `symbol` opens in [start, end) (server-clock seconds): a hole."""
        window = (round(start * 1000), round(end * 1000))
        self._missing.setdefault(symbol, []).append(window)

    # -- serving -----------------------------------------------------------------------------

    @staticmethod
    def _take(planned: list[_Planned], path: str) -> _Planned | None:
        for entry in planned:
            if entry.count > 0 and entry.path in (None, path):
                entry.count -= 1
                return entry
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        self.requests[path] += 1
        slow = self._take(self._slow, path)
        if slow is not None and self._closing is not None:
            with contextlib.suppress(TimeoutError):  # the delay ran out: answer now
                await asyncio.wait_for(self._closing.wait(), timeout=slow.delay_s)
        now = self._clock()
        now_ms = math.floor(now * 1000)
        for start, end, status in self._outages:
            if start <= now < end:
                return fault_response(status, None, now_ms)
        failure = self._take(self._failures, path)
        if failure is not None:
            return fault_response(failure.status, failure.retry_after_s, now_ms)
        route = self._routes.get(path)
        if route is None:
            return web.Response(status=404, body=b"")  # counted all the same
        try:
            return route(request.query, now_ms)
        except _BadRequest as bad:
            return error_response(400, bad.code, bad.msg)

    def _klines(self, query: Mapping[str, str], now_ms: int) -> web.Response:
        for name in ("symbol", "interval"):
            if not query.get(name):
                msg = f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
                raise _BadRequest(-1102, msg)
        symbol = self._by_id.get(query["symbol"])
        if symbol is None:
            raise _BadRequest(-1121, "Invalid symbol.")
        timeframe = query["interval"]
        if timeframe not in INTERVAL_MS:
            raise _BadRequest(-1120, "Invalid interval.")
        limit = _int_param(query, "limit")
        limit = DEFAULT_LIMIT if limit is None else min(limit, MAX_LIMIT)
        if limit < 1:
            raise _BadRequest(-1130, "Invalid data sent for a parameter.")
        start_ms, end_ms = _int_param(query, "startTime"), _int_param(query, "endTime")
        if start_ms is not None and end_ms is not None and start_ms > end_ms:
            raise _BadRequest(-1023, "Start time is greater than end time.")
        # a late symbol serves the market as it was delay_s ago, its forming candle included
        as_of_ms = now_ms - math.ceil(self.delay_s.get(symbol, 0.0) * 1000)
        interval_ms = INTERVAL_MS[timeframe]
        last = as_of_ms // interval_ms * interval_ms
        if end_ms is not None:
            last = min(last, end_ms // interval_ms * interval_ms)
        if start_ms is None:
            opens = self._opens_back(symbol, last, interval_ms, limit)
        else:
            first = -(-start_ms // interval_ms) * interval_ms
            opens = self._opens_forward(symbol, first, last, interval_ms, limit)
        rows = []
        for open_ms in opens:
            candle = self.candle(symbol, timeframe, open_ms)
            if open_ms + interval_ms <= as_of_ms:
                self._record_served(symbol, open_ms)
            else:
                candle = forming_candle(candle, symbol, timeframe, as_of_ms - open_ms)
            rows.append(kline_row(self.seed, symbol, timeframe, candle))
        return web.json_response(rows)

    def _hole(self, symbol: str, open_ms: int) -> tuple[int, int] | None:
        for start_ms, end_ms in self._missing.get(symbol, ()):
            if start_ms <= open_ms < end_ms:
                return start_ms, end_ms
        return None

    def _opens_forward(
        self, symbol: str, first: int, last: int, interval_ms: int, limit: int
    ) -> list[int]:
        opens: list[int] = []
        open_ms = first
        while open_ms <= last and len(opens) < limit:
            hole = self._hole(symbol, open_ms)
            if hole is None:
                opens.append(open_ms)
                open_ms += interval_ms
            else:  # jump past the hole rather than step through it
                open_ms = -(-hole[1] // interval_ms) * interval_ms
        return opens

    def _opens_back(self, symbol: str, last: int, interval_ms: int, limit: int) -> list[int]:
        opens: list[int] = []
        open_ms = last
        while open_ms >= 0 and len(opens) < limit:
            hole = self._hole(symbol, open_ms)
            if hole is None:
                opens.append(open_ms)
                open_ms -= interval_ms
            else:
                open_ms = (hole[0] - 1) // interval_ms * interval_ms
        return opens[::-1]

    def _record_served(self, symbol: str, open_ms: int) -> None:
        self.served_klines.append((symbol, open_ms))
        if len(self.served_klines) > SERVED_KLINES_KEPT:
            del self.served_klines[: SERVED_KLINES_KEPT // 2]


# -- as a process ------------------------------------------------------------------------------


def _parse_delay(text: str) -> tuple[str, float]:
    symbol, _, seconds = text.rpartition("=")
    if not symbol:
        raise argparse.ArgumentTypeError(f"expected SYMBOL=SECONDS, got {text!r}")
    return symbol, float(seconds)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.support.fake_exchange")
    parser.add_argument("--symbols", nargs="+", default=["BTC/USDT", "ETH/USDT"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    parser.add_argument(
        "--delay", type=_parse_delay, action="append", default=[], metavar="SYMBOL=SECONDS"
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = FakeBinance(args.symbols, seed=args.seed)
    server.delay_s.update(args.delay)
    await server.start(args.port)
    try:
        print(server.url, flush=True)
        await stop.wait()
    finally:
        await server.close()


def main(argv: Sequence[str] | None = None) -> int:
    asyncio.run(_serve(_arguments(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
