"""Moving-average trend following: long while the fast average is above the slow one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.history import BarData
from core.strategy_ledger import StrategyLedger
from workers.strategies.indicators import RollingMean
from workers.strategies.universe import resolve_symbols
from workers.strategy import Strategy


class MovingAverageCrossover(Strategy):
    """Per symbol: hold `exposure / n` of the strategy's value while SMA(fast) > SMA(slow),
    nothing otherwise. Orders go out only when the signal flips (O(1) per bar)."""

    def __init__(
        self,
        symbols: Sequence[str] | None = None,
        fast: int = 10,
        slow: int = 30,
        exposure: float = 0.95,
    ) -> None:
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got fast={fast}, slow={slow}")
        self.symbols = list(symbols) if symbols else None
        self.fast = fast
        self.slow = slow
        self.exposure = exposure

    def initialize(self, context: Any) -> None:
        context.averages = {}
        context.long = {}

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        symbols = resolve_symbols(context, self.symbols, data)
        share = self.exposure / len(symbols)
        for symbol in symbols:
            bar = data.get(symbol)
            if bar is None:
                continue
            averages = context.averages.get(symbol)
            if averages is None:
                averages = context.averages[symbol] = (
                    RollingMean(self.fast),
                    RollingMean(self.slow),
                )
            fast, slow = averages
            price = float(bar.close)
            fast.push(price)
            slow.push(price)
            if not slow.ready:
                continue
            want_long = fast.value > slow.value
            if want_long != context.long.get(symbol, False):
                context.long[symbol] = want_long
                ledger.order_target_percent(symbol, share if want_long else 0)


class TrendFollowingStrategy(MovingAverageCrossover):
    """Long-term trend: the seed's `TrendFollowingStrategy(fast=50, slow=200)`."""

    def __init__(
        self,
        fast: int = 50,
        slow: int = 200,
        symbols: Sequence[str] | None = None,
        exposure: float = 0.95,
    ) -> None:
        super().__init__(symbols, fast, slow, exposure)
