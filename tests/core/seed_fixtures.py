"""Real strategies and real data for the seed document's examples.

The seed names its strategies (`MomentumStrategy`, `StrategyA`, ...) without defining them;
here they are paperfund's example strategies, fed with the shipped daily closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from core.market import Slice
from tests.support.market_data import align, load_closes
from workers.strategies import (
    MeanReversionStrategy,
    MomentumStrategy,
    MovingAverageCrossover,
    PairsTradingStrategy,
    TrendFollowingStrategy,
)

SYMBOLS = ("AAPL", "GOOGL", "AMZN", "JPM", "XOM")


@cache
def real_slices() -> tuple[Slice, ...]:
    """Daily closes 2014-2018 of five large caps (the file's GOOG is served as GOOGL)."""
    closes = load_closes()
    closes["GOOGL"] = [
        type(b)(b.ts, "GOOGL", b.open, b.high, b.low, b.close, b.volume) for b in closes["GOOG"]
    ]
    slices = align(closes[s] for s in SYMBOLS)
    return tuple(s for s in slices if s.ts.year >= 2014 and len(s) == len(SYMBOLS))


def seed_market_data(market: Slice) -> dict[str, dict[str, Any]]:
    """The seed's dict form: symbol -> {"price": Decimal, "volume": int}."""
    return {s: {"price": bar.close, "volume": 1_000_000} for s, bar in market.items()}


def data_feed(n: int, start: int = 0) -> Iterator[tuple[datetime, dict[str, dict[str, Any]]]]:
    for market in real_slices()[start : start + n]:
        yield market.ts, seed_market_data(market)


class CountingStrategy(MovingAverageCrossover):
    """A trend strategy that also counts its calls (to show pause/resume)."""

    def __init__(self) -> None:
        super().__init__(fast=5, slow=20)
        self.calls = 0

    def handle_data(self, context: Any, data: Any, ledger: Any) -> None:
        self.calls += 1
        super().handle_data(context, data, ledger)


class StrategyA(CountingStrategy):
    pass


class StrategyB(CountingStrategy):
    pass


class StrategyC(CountingStrategy):
    pass


__all__ = [
    "Decimal",
    "MeanReversionStrategy",
    "MomentumStrategy",
    "PairsTradingStrategy",
    "StrategyA",
    "StrategyB",
    "StrategyC",
    "TrendFollowingStrategy",
]
