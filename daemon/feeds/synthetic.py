"""A seeded geometric random walk of OHLCV bars: the embedded default feed.

`synthetic_slices` is the synchronous generator (the same seed always gives the same bars);
`SyntheticFeed` is the async `Feed` over it, with the same pacing as the replay feed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from core.market import Bar, Slice
from daemon.feeds.base import Clock, Feed, Pacer, Sleep, paced
from daemon.feeds.errors import FeedConfigError
from daemon.feeds.timestamps import to_utc

PRICE_STEP = Decimal("0.01")
DEFAULT_SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE")
DEFAULT_START = datetime(2024, 1, 2, tzinfo=UTC)


def synthetic_slices(
    symbols: Sequence[str],
    *,
    start: datetime,
    interval: timedelta,
    bars: int | None,
    seed: int,
    drift: float = 0.0003,
    volatility: float = 0.015,
    start_price: float = 100.0,
) -> Iterator[Slice]:
    """`bars` slices of every symbol (endless when None); the same seed gives the same bars."""
    rng = np.random.default_rng(seed)
    prices = np.full(len(symbols), start_price)
    for i in itertools.count() if bars is None else range(bars):
        ts = start + i * interval
        shocks = rng.normal(drift, volatility, size=(len(symbols), 4))
        volumes = rng.integers(50_000, 500_000, size=len(symbols))
        slice_bars = {}
        for k, symbol in enumerate(symbols):
            open_ = prices[k] * np.exp(shocks[k, 0] / 4)
            close = open_ * np.exp(shocks[k, 1])
            high = max(open_, close) * np.exp(abs(shocks[k, 2]) / 2)
            low = min(open_, close) * np.exp(-abs(shocks[k, 3]) / 2)
            slice_bars[symbol] = _bar(ts, symbol, open_, high, low, close, int(volumes[k]))
            prices[k] = close
        yield Slice(ts, slice_bars)


def _bar(ts: datetime, symbol: str, o: float, h: float, lo: float, c: float, volume: int) -> Bar:
    def q(x: float) -> Decimal:
        return Decimal(repr(float(x))).quantize(PRICE_STEP)

    open_, close = q(o), q(c)
    high = max(q(h), open_, close)
    low = max(min(q(lo), open_, close), PRICE_STEP)
    return Bar(ts, symbol, open_, high, low, close, Decimal(volume))


class SyntheticFeed(Feed):
    """The seeded random walk as a `Feed`. Every iteration from the start (each `slices()`
    call) yields the same slices for the same arguments. `interval` is a timedelta or seconds;
    `start` a datetime or ISO text (naive means UTC); `bars=None` never ends. Synthetic bars
    are valid by construction, so nothing is rejected."""

    def __init__(
        self,
        symbols: Sequence[str] = DEFAULT_SYMBOLS,
        *,
        start: datetime | str = DEFAULT_START,
        interval: timedelta | float = timedelta(days=1),
        bars: int | None = 252,
        seed: int = 7,
        drift: float = 0.0003,
        volatility: float = 0.015,
        start_price: float = 100.0,
        speed: float | None = 0.0,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__()
        if isinstance(symbols, str) or not symbols:
            raise FeedConfigError("symbols: give a non-empty list of symbols")
        step = interval if isinstance(interval, timedelta) else timedelta(seconds=interval)
        if step <= timedelta(0):
            raise FeedConfigError(f"interval must be positive, got {interval!r}")
        if bars is not None and bars < 0:
            raise FeedConfigError(f"bars must be >= 0 or None, got {bars!r}")
        self.symbols = tuple(symbols)
        self.start = to_utc(start)
        self.interval = step
        self.bars = bars
        self.seed = seed
        self._walk = {"drift": drift, "volatility": volatility, "start_price": start_price}
        self._pacer = Pacer(speed, sleep=sleep, clock=clock)

    def slices(self) -> AsyncIterator[Slice]:
        source = synthetic_slices(
            self.symbols,
            start=self.start,
            interval=self.interval,
            bars=self.bars,
            seed=self.seed,
            **self._walk,
        )
        return paced(source, self._pacer, self.stats)
