"""The strategy API: subclass `Strategy` and implement `handle_data(context, data, ledger)`.

- `initialize(context)` runs once when the strategy joins a fund; keep state on `context`
  (it persists from bar to bar and is part of the fund's snapshots).
- `handle_data(context, data, ledger)` runs on every bar while the strategy is RUNNING.
  `data[symbol]` is the current `Bar` (`.open/.high/.low/.close/.volume`, or
  `data[symbol]["price"]`), `data.current(symbol, field)` and `data.history(symbol, field, n)`
  give current and recent values; `ledger` is this strategy's own account, a
  `core.strategy_ledger.StrategyLedger`: `order`, `order_value`, `order_target`,
  `order_target_value`, `order_target_percent`, `cancel_order`, `cancel_all_orders`,
  `get_order`, `open_orders`, `positions` (copies), `cash`, `portfolio_value`,
  `positions_value`, `allow_short`. Moving money or positions is the fund's alone.
- Orders placed on bar t fill on bar t+1 (market orders at its open).
"""

from __future__ import annotations

from typing import Any

from core.history import BarData
from core.step import StrategyContext
from core.strategy_ledger import StrategyLedger


class Strategy:
    """Base class of paperfund strategies (the seed's `TradingAlgorithm`)."""

    def initialize(self, context: StrategyContext) -> None:
        """Set up state on `context`. Optional."""

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement handle_data")


TradingAlgorithm = Strategy
