"""A seeded geometric random walk of OHLCV bars: the embedded default feed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from core.market import Bar, Slice

PRICE_STEP = Decimal("0.01")


def synthetic_slices(
    symbols: Sequence[str],
    *,
    start: datetime,
    interval: timedelta,
    bars: int,
    seed: int,
    drift: float = 0.0003,
    volatility: float = 0.015,
    start_price: float = 100.0,
) -> Iterator[Slice]:
    """`bars` slices of every symbol; the same seed always gives the same bars."""
    rng = np.random.default_rng(seed)
    prices = np.full(len(symbols), start_price)
    for i in range(bars):
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
