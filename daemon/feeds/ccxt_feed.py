"""`CcxtFeed`: closed candles of a real exchange, polled through ccxt (`fetch_ohlcv`).

ccxt is an optional extra (`pip install 'paperfund[ccxt]'`); this module imports it only
when a feed starts, so the daemon runs without it as long as no fund uses this feed.

- **Slices** follow `daemon.feeds.candles`: a bar is a closed candle dated at its close, a
  slice is one close time with every symbol's candle, and a late symbol gets
  `grace_period_s` before its slice closes without it.
- **Start.** A fund with no state first fetches `warmup_bars` closed candles of history and
  steps them like any other slice (journaled, replayed exactly), so indicators are warm when
  the live candles come. A fund that recovered its state resumes after its last processed
  slice (`fast_forward`, called by the supervisor with the journal's last slice): the candles
  it missed while it was down are fetched and processed in order before the live ones,
  without warm-up. Nothing is processed twice or skipped.
- **Polling.** After a round (every symbol fetched from its cursor, page after page until the
  exchange answers fewer than `fetch_limit` candles), the feed sleeps until just after the
  next candle's close (a second, or `poll_interval_s` if shorter) or until an incomplete
  slice's grace ends; a candle that is due but not taken yet is asked for again every
  `poll_interval_s`.
- **Errors.** Any ccxt error of one fetch (429 and 418 answers, 5xx, timeouts, network
  errors, errors of the exchange) is counted by kind in `stats.errors` and retried after a
  backoff that doubles from `backoff_s` to `max_backoff_s` (or after the `Retry-After` of a
  429 or 418 answer, when that is longer); the other symbols go on. ccxt's
  own rate limiter spaces the requests (`enableRateLimit`, on unless `exchange_options`
  says otherwise). After `reconnect_attempts` rounds in a row with an error the feed raises
  `FeedError`; by default (None) it never gives up. Starting (loading the markets) is
  retried the same way; a symbol or timeframe the exchange does not have is a
  `FeedConfigError` at once.
- **Values.** ccxt hands prices and volumes as floats parsed from the exchange's decimal
  text; each becomes the Decimal of its shortest repr (`Bar.of`), which is the exchange's
  number for any price of up to 15 significant digits (trailing zeros dropped). Every bar
  then goes through the feed's `BarValidator`, as bars of the other feeds do.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from core.market import Slice
from daemon.feeds.base import Clock, Feed, Sleep, backoff_delay_s, check_backoff
from daemon.feeds.candles import CandleBook, to_ms
from daemon.feeds.ccxt_meta import ccxt_module, parse_timeframe_s
from daemon.feeds.errors import FeedConfigError, FeedError
from daemon.feeds.validation import BarLimits, BarValidator, DuplicatePolicy, RejectHook

DEFAULT_MAX_AHEAD_S = 300.0

ERROR_KINDS = ("rate_limit", "timeout", "unavailable", "network", "exchange")
"""`stats.errors` keys: 429/418 answers; timeouts; 5xx and maintenance; other network
errors; errors the exchange reported (a bad request, an unknown symbol)."""


class CcxtFeed(Feed):
    """Closed candles of `symbols` on the ccxt exchange `exchange`; see the module doc.

    - `exchange`: a ccxt exchange id (`binance`, `kraken`, ...); `exchange_options`: the
      mapping passed to its constructor (sandbox mode, URLs, `rateLimit`, `timeout`, keys).
    - `symbols`: ccxt unified symbols (`BTC/USDT`); `timeframe`: ccxt's (`1m`, `1h`, `1d`).
    - `warmup_bars`: closed candles of history stepped before the live ones (fresh start).
    - `grace_period_s`: how long a slice waits for a late symbol (None: one timeframe, at
      most 60 s); `settle_s`: how long after its close a candle counts as closed when the
      exchange has no later one (None: half a timeframe, at most 30 s; an exchange that has a
      candle for every interval, trades or not, shows the next one long before);
      `poll_interval_s`: how often a candle that is due is asked
      for again (None: a quarter of the timeframe, between 0.25 and 5 s).
    - `fetch_limit`: candles per request; `backoff_s`, `max_backoff_s`,
      `reconnect_attempts`: the retry budget (see the module doc).
    - `limits`, `max_ahead_s`, `duplicate_policy`, `on_reject`, `validator`: as for the
      Redis feed. `wall_clock` (Unix seconds: which candles are closed), `clock` and `sleep`
      (grace periods and waits) are injected for tests.
    """

    def __init__(
        self,
        exchange: str,
        symbols: Iterable[str],
        timeframe: str = "1m",
        *,
        exchange_options: Mapping[str, Any] | None = None,
        warmup_bars: int = 0,
        grace_period_s: float | None = None,
        settle_s: float | None = None,
        poll_interval_s: float | None = None,
        fetch_limit: int = 500,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        reconnect_attempts: int | None = None,
        limits: BarLimits | Mapping[str, Any] | None = None,
        max_ahead_s: float = DEFAULT_MAX_AHEAD_S,
        duplicate_policy: DuplicatePolicy = "reject",
        on_reject: RejectHook | None = None,
        validator: BarValidator | None = None,
        wall_clock: Callable[[], float] = time.time,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__()
        self.symbols = [symbols] if isinstance(symbols, str) else list(symbols)
        if not self.symbols or len(set(self.symbols)) != len(self.symbols):
            raise FeedConfigError(f"symbols must be distinct and not empty, got {self.symbols}")
        timeframe_s = parse_timeframe_s(timeframe)
        _check_budget(warmup_bars, fetch_limit, backoff_s, max_backoff_s, reconnect_attempts)
        if grace_period_s is None:
            grace_period_s = min(timeframe_s, 60.0)
        if settle_s is None:
            settle_s = min(timeframe_s / 2, 30.0)
        if poll_interval_s is None:
            poll_interval_s = min(5.0, max(0.25, timeframe_s / 4))
        for name, value in (("grace_period_s", grace_period_s), ("settle_s", settle_s)):
            if not (math.isfinite(value) and value >= 0):
                raise FeedConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (math.isfinite(poll_interval_s) and poll_interval_s > 0):
            raise FeedConfigError(f"poll_interval_s must be > 0, got {poll_interval_s!r}")
        self.exchange_id = exchange
        self.timeframe = timeframe
        self.timeframe_ms = round(timeframe_s * 1000)
        self.exchange_options = dict(exchange_options or {})
        self.warmup_bars = warmup_bars
        self.grace_period_s, self.settle_s = float(grace_period_s), float(settle_s)
        self.poll_interval_s = float(poll_interval_s)
        self.fetch_limit = fetch_limit
        self._backoff = (backoff_s, max_backoff_s, reconnect_attempts)
        self._use_validator(
            validator, self.symbols, duplicate_policy, on_reject, limits, max_ahead_s, wall_clock
        )
        self.stats.errors = dict.fromkeys(ERROR_KINDS, 0)
        self._wall_clock, self._clock, self._sleep = wall_clock, clock, sleep
        self._resume_ms: int | None = None
        self._retry_after_s = 0.0
        self._ccxt: Any = None  # `ccxt.async_support`, imported when the feed starts
        self.book: CandleBook | None = None

    @property
    def waits(self) -> bool:
        return True  # candles close as time passes

    @property
    def stale_after_s(self) -> float:
        """How long without a new slice means the feed is stale: two timeframes, the grace
        period and the longest backoff (`/readyz` uses it unless `max_bar_age_s` is set)."""
        return 2 * self.timeframe_ms / 1000 + self.grace_period_s + self._backoff[1]

    def fast_forward(self, through: datetime) -> None:
        """Resume after `through`, the last slice the fund processed (no warm-up)."""
        self._resume_ms = to_ms(through)

    def slices(self) -> AsyncIterator[Slice]:
        return self._run()

    # ---- the loop --------------------------------------------------------------------------
    async def _run(self) -> AsyncIterator[Slice]:
        client = await self._connect()
        try:
            book = self.book = CandleBook(
                self.symbols,
                self.timeframe_ms,
                self.validator,
                start_ms=self._start_ms(),
                grace_period_s=self.grace_period_s,
                settle_s=self.settle_s,
                clock=self._clock,
            )
            failures = 0
            while True:
                error = await self._poll(client, book)
                for market in book.due():
                    self.stats.record(market)
                    yield market
                self.stats.last_bar_ts = dict(book.last_close)
                failures = 0 if error is None else failures + 1
                self._give_up_after(failures, error)
                await self._sleep(self._wait_s(book, failures))
        finally:
            await client.close()

    def _start_ms(self) -> int:
        if self._resume_ms is not None:
            return self._resume_ms
        now_ms = round(self._wall_clock() * 1000)
        current_open = now_ms - now_ms % self.timeframe_ms
        return current_open - self.warmup_bars * self.timeframe_ms

    async def _connect(self) -> Any:
        """The ccxt client with its markets loaded; network errors are retried like a
        fetch's, an error of the exchange (a refused request) ends the feed at once."""
        module = self._ccxt = ccxt_module(asynchronous=True)
        exchange_class = getattr(module, self.exchange_id, None)
        if exchange_class is None:
            raise FeedConfigError(f"ccxt has no exchange {self.exchange_id!r}")
        client = exchange_class({"enableRateLimit": True, **self.exchange_options})
        failures = 0
        try:
            while True:
                try:
                    markets = await client.load_markets()
                    break
                except module.NetworkError as exc:
                    failures += 1
                    self._count(exc)
                    self._give_up_after(failures, exc)
                    await self._sleep(self._backoff_s(failures))
        except BaseException as exc:
            await client.close()
            if isinstance(exc, module.BaseError) and not isinstance(exc, module.NetworkError):
                self._count(exc)
                raise FeedError(f"ccxt feed: {self.exchange_id}: {exc}") from exc
            raise
        missing = [s for s in self.symbols if s not in markets]
        if missing:
            await client.close()
            raise FeedConfigError(f"{self.exchange_id} has no market {', '.join(missing)}")
        return client

    async def _poll(self, client: Any, book: CandleBook) -> BaseException | None:
        """Fetch every symbol up to now; the last error met, if a fetch failed."""
        module = self._ccxt
        failed: BaseException | None = None
        for symbol in self.symbols:
            while True:
                since = book.since(symbol)
                try:
                    candles = await client.fetch_ohlcv(
                        symbol, self.timeframe, since=since, limit=self.fetch_limit
                    )
                except module.BaseError as exc:
                    self._count(exc)
                    failed = exc
                    self._retry_after_s = max(self._retry_after_s, _retry_after_s(client, exc))
                    break
                self.stats.fetches += 1
                book.offer(symbol, candles, round(self._wall_clock() * 1000))
                if len(candles) < self.fetch_limit or book.since(symbol) == since:
                    break  # caught up (or the exchange gave nothing new)
        return failed

    def _wait_s(self, book: CandleBook, failures: int) -> float:
        if failures:
            wait_s = max(self._backoff_s(failures), self._retry_after_s)
            self._retry_after_s = 0.0
            return wait_s
        first_poll_s = min(1.0, self.poll_interval_s)  # the exchange needs a moment
        due_s = book.next_close_ms() / 1000 + first_poll_s - self._wall_clock()
        if due_s <= 0:
            due_s = self.poll_interval_s  # due but not taken yet: ask again soon
        deadline = book.grace_deadline()
        if deadline is not None:
            due_s = min(due_s, max(0.0, deadline - self._clock()))
        return due_s

    def _backoff_s(self, failures: int) -> float:
        base_s, cap_s, _ = self._backoff
        return backoff_delay_s(failures, base_s, cap_s)

    def _give_up_after(self, failures: int, error: BaseException | None = None) -> None:
        attempts = self._backoff[2]
        if attempts is not None and failures > attempts:
            raise FeedError(
                f"ccxt feed: {self.exchange_id} failed {failures} times in a row"
                + ("" if error is None else f", last: {type(error).__name__}: {error}")
            )

    def _count(self, exc: BaseException) -> None:
        kind = error_kind(exc)
        self.stats.errors[kind] = self.stats.errors.get(kind, 0) + 1


MAX_RETRY_AFTER_S = 3600.0


def _retry_after_s(client: Any, exc: BaseException) -> float:
    """The `Retry-After` seconds of a 429 or 418 answer (0 when it has none): ccxt raises
    without reading it, and a banned client that comes back early is banned for longer."""
    if error_kind(exc) != "rate_limit":
        return 0.0
    headers = getattr(client, "last_response_headers", None) or {}
    value = headers.get("Retry-After", headers.get("retry-after"))
    try:
        seconds = float(str(value))
    except (TypeError, ValueError):
        return 0.0
    return min(seconds, MAX_RETRY_AFTER_S) if math.isfinite(seconds) and seconds > 0 else 0.0


def error_kind(exc: BaseException) -> str:
    """The `ERROR_KINDS` entry of a ccxt error."""
    module = importlib.import_module("ccxt")
    if isinstance(exc, module.DDoSProtection):  # RateLimitExceeded is one
        return "rate_limit"
    if isinstance(exc, module.RequestTimeout):
        return "timeout"
    if isinstance(exc, module.ExchangeNotAvailable):  # OnMaintenance is one
        return "unavailable"
    if isinstance(exc, module.NetworkError):
        return "network"
    return "exchange"


def _check_budget(
    warmup_bars: int,
    fetch_limit: int,
    backoff_s: float,
    max_backoff_s: float,
    reconnect_attempts: int | None,
) -> None:
    if warmup_bars < 0 or fetch_limit < 1:
        raise FeedConfigError("warmup_bars must be >= 0 and fetch_limit >= 1")
    if reconnect_attempts is not None and reconnect_attempts < 1:
        raise FeedConfigError(f"reconnect_attempts must be >= 1, got {reconnect_attempts}")
    check_backoff(backoff_s, max_backoff_s)
