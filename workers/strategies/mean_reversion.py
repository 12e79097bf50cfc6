"""RSI mean reversion: buy oversold symbols, sell them once they recover."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.history import BarData
from core.strategy_ledger import StrategyLedger
from workers.strategies.indicators import RelativeStrength
from workers.strategies.universe import resolve_symbols
from workers.strategy import Strategy


class MeanReversionStrategy(Strategy):
    """Per symbol: buy `exposure / n` of value when RSI(period) < `threshold`, sell all when
    RSI > `exit_threshold` (default 100 - threshold)."""

    def __init__(
        self,
        threshold: float = 30,
        exit_threshold: float | None = None,
        period: int = 14,
        symbols: Sequence[str] | None = None,
        exposure: float = 0.95,
    ) -> None:
        self.threshold = threshold
        self.exit_threshold = 100 - threshold if exit_threshold is None else exit_threshold
        if not 0 < self.threshold < self.exit_threshold < 100:
            raise ValueError("need 0 < threshold < exit_threshold < 100")
        self.period = period
        self.symbols = list(symbols) if symbols else None
        self.exposure = exposure

    def initialize(self, context: Any) -> None:
        context.rsi = {}
        context.long = {}

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        symbols = resolve_symbols(context, self.symbols, data)
        for symbol in symbols:
            bar = data.get(symbol)
            if bar is None:
                continue
            rsi = context.rsi.get(symbol)
            if rsi is None:
                rsi = context.rsi[symbol] = RelativeStrength(self.period)
            rsi.push(float(bar.close))
            if not rsi.ready:
                continue
            long = context.long.get(symbol, False)
            if not long and rsi.value < self.threshold:
                context.long[symbol] = True
                ledger.order_target_percent(symbol, self.exposure / len(symbols))
            elif long and rsi.value > self.exit_threshold:
                context.long[symbol] = False
                ledger.order_target_percent(symbol, 0)
