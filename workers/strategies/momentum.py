"""Cross-sectional momentum: hold the best performers of the last `lookback` bars."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from core.history import BarData
from core.strategy_ledger import StrategyLedger
from workers.strategies.universe import resolve_symbols
from workers.strategy import Strategy


class MomentumStrategy(Strategy):
    """Every `rebalance_every` bars, rank symbols by their return over `lookback` bars and
    hold the `top` best with a positive return, equally weighted; sell the rest."""

    def __init__(
        self,
        lookback: int = 20,
        symbols: Sequence[str] | None = None,
        top: int = 1,
        rebalance_every: int = 5,
        exposure: float = 0.95,
    ) -> None:
        if lookback < 1 or top < 1 or rebalance_every < 1:
            raise ValueError("lookback, top and rebalance_every must be >= 1")
        self.lookback = lookback
        self.symbols = list(symbols) if symbols else None
        self.top = top
        self.rebalance_every = rebalance_every
        self.exposure = exposure

    def initialize(self, context: Any) -> None:
        context.closes = {}
        context.bars_seen = 0
        context.holding = []

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        symbols = resolve_symbols(context, self.symbols, data)
        for symbol in symbols:
            bar = data.get(symbol)
            if bar is not None:
                closes = context.closes.setdefault(symbol, deque(maxlen=self.lookback + 1))
                closes.append(float(bar.close))
        context.bars_seen += 1
        if context.bars_seen % self.rebalance_every:
            return
        scores = {
            s: c[-1] / c[0] - 1.0
            for s, c in context.closes.items()
            if len(c) == self.lookback + 1 and s in data
        }
        ranked = sorted((s for s in scores if scores[s] > 0), key=lambda s: (-scores[s], s))
        winners = ranked[: self.top]
        for symbol in context.holding:
            if symbol not in winners and symbol in data:
                ledger.order_target_percent(symbol, 0)
        for symbol in winners:
            ledger.order_target_percent(symbol, self.exposure / len(winners))
        context.holding = [s for s in context.holding if s not in data] + winners
