"""Candles of several symbols, assembled into slices: the slice rules of the ccxt feed.

A candle covers `[open, open + timeframe)`. Its bar is dated at its close, `open +
timeframe`, the moment it is complete; a slice is one close time with every symbol's candle.

- **Closed.** A candle is closed when the exchange already answers a later candle of the same
  symbol, or when the wall clock is `settle_s` past its close. Any other candle is still
  forming: it is never a bar, and the next poll asks for it again.
- **Known through.** A symbol is known through T when a closed candle of it closes at T or
  later, or a forming one opens at T or later: an exchange that has no candle for an interval
  (no trade) says so by answering a later one.
- **Closing a slice.** The slice at T closes as soon as every symbol is known through T, or
  `grace_period_s` (on the injected clock) after its first candle arrived: then the symbols
  still late are left out, as by the Redis feed, and a candle of theirs that comes later is
  rejected by the validator (`out_of_order`). Slices close in time order, through the feed's
  `BarValidator` (`daemon.feeds.validation`).
- **Cursor.** Each symbol is fetched from the candle that opens where it is known through, so
  a restart, an outage or a slow poll resumes exactly after the last candle taken: nothing is
  taken twice or skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.market import Slice
from daemon.feeds.base import Clock
from daemon.feeds.validation import BarValidator, RawBar

Candle = Sequence[object]
"""As ccxt's `fetch_ohlcv` gives it: `[open ms, open, high, low, close, volume]`."""


def utc_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_ms(ts: datetime) -> int:
    return round(ts.timestamp() * 1000)


@dataclass
class _Open:
    opened_at: float
    bars: dict[str, RawBar] = field(default_factory=dict)


class CandleBook:
    """The open slices and each symbol's cursor (see the module doc).

    `start_ms`: every symbol is known through this close time at first (the first candle
    wanted opens there).
    """

    def __init__(
        self,
        symbols: Iterable[str],
        timeframe_ms: int,
        validator: BarValidator,
        *,
        start_ms: int,
        grace_period_s: float,
        settle_s: float,
        clock: Clock,
    ) -> None:
        self.symbols = tuple(symbols)
        self.timeframe_ms = timeframe_ms
        self.validator = validator
        self.known: dict[str, int] = dict.fromkeys(self.symbols, start_ms)
        self.grace_period_s = grace_period_s
        self.settle_ms = round(settle_s * 1000)
        self._clock = clock
        self._open: dict[int, _Open] = {}
        self.last_close: dict[str, datetime] = {}
        """Per symbol, the close time of its last candle taken into a slice."""

    def since(self, symbol: str) -> int:
        """Open time (ms) of the next candle of `symbol` to fetch."""
        return self.known[symbol]

    def offer(self, symbol: str, candles: Sequence[Candle], now_ms: int) -> int:
        """Take the closed candles of `symbol` out of one answer of the exchange (in any order,
        repeats allowed); returns how many new ones were taken.

        A candle that is not `[open ms, open, high, low, close, ...]` is rejected as
        `malformed`. One dated after the validator's `max_ahead_s` from `now_ms` is rejected
        as `future` with every later one, and moves no cursor: a bogus date in the year 2999
        must not make every real candle look taken."""
        horizon_s = self.validator.max_ahead_s
        horizon_ms = None if horizon_s is None else now_ms + round(horizon_s * 1000)
        ordered = self._well_formed(symbol, candles)
        taken = 0
        for i, (open_ms, candle) in enumerate(ordered):
            close_ms = open_ms + self.timeframe_ms
            if horizon_ms is not None and close_ms > horizon_ms:
                self.validator.to_bar(_row(symbol, close_ms, candle))  # counted as future
                break
            if i + 1 == len(ordered) and close_ms + self.settle_ms > now_ms:
                self.known[symbol] = max(self.known[symbol], open_ms)  # forming: not a bar yet
                break
            if close_ms <= self.known[symbol]:
                continue  # taken before (an exchange answers from `since` on, repeats included)
            self.known[symbol] = close_ms
            taken += 1
            row = _row(symbol, close_ms, candle)
            last = self.validator.last_ts
            if last is not None and row.ts <= last:
                self.validator.make_slice(row.ts, [row])  # late: counted as out of order
                continue
            pending = self._open.get(close_ms)
            if pending is None:
                pending = self._open[close_ms] = _Open(self._clock())
            pending.bars[symbol] = row
        return taken

    def _well_formed(self, symbol: str, candles: Sequence[Candle]) -> list[tuple[int, Candle]]:
        """(open ms, candle) of each candle of a usable shape, in time order; the others are
        counted as malformed."""
        found = []
        for candle in candles:
            try:
                if len(candle) < 5 or isinstance(candle[0], bool):
                    raise ValueError("fewer than five fields")
                open_ms = int(candle[0])  # type: ignore[call-overload]
            except (TypeError, ValueError, OverflowError) as exc:
                self.validator.reject_malformed(symbol, f"candle {str(candle)[:80]}: {exc}")
                continue
            found.append((open_ms, candle))
        return sorted(found, key=lambda pair: pair[0])

    def due(self) -> list[Slice]:
        """The slices that close now, in time order."""
        ready: list[Slice] = []
        now = self._clock()
        for close_ms in sorted(self._open):
            pending = self._open[close_ms]
            complete = all(self.known[s] >= close_ms for s in self.symbols)
            if not complete and pending.opened_at + self.grace_period_s > now:
                break  # a later slice never closes before an earlier one
            del self._open[close_ms]
            market = self.validator.make_slice(utc_ms(close_ms), pending.bars.values())
            if market is not None:
                ready.append(market)
                for name in market:
                    self.last_close[name] = market.ts
        return ready

    def grace_deadline(self) -> float | None:
        """When (on the clock) the oldest incomplete slice closes without its late symbols."""
        if not self._open:
            return None
        return min(p.opened_at for p in self._open.values()) + self.grace_period_s

    def next_close_ms(self) -> int:
        """The earliest close time (ms) of a candle not taken yet."""
        return min(self.known.values()) + self.timeframe_ms


def _row(symbol: str, close_ms: int, candle: Candle) -> RawBar:
    """The raw bar of a candle, dated at its close (validated when its slice is made)."""
    o, h, lo, c = candle[1:5]
    return RawBar(utc_ms(close_ms), symbol, o, h, lo, c, candle[5] if len(candle) > 5 else None)
