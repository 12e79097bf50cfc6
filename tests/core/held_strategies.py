"""Strategies for the held-capital tests, importable by path so a child process can build
them too ("tests.core.held_strategies:Name")."""

from __future__ import annotations

from typing import Any

from core.history import BarData
from core.ledger import Ledger
from workers.strategy import Strategy


class Hold(Strategy):
    """Invests `fraction` of its value in `symbol` on its first bar, then holds."""

    def __init__(self, symbol: str, fraction: float = 0.9) -> None:
        self.symbol = symbol
        self.fraction = fraction

    def initialize(self, context: Any) -> None:
        context.bought = False

    def handle_data(self, context: Any, data: BarData, ledger: Ledger) -> None:
        if not context.bought and self.symbol in data:
            ledger.order_target_percent(self.symbol, self.fraction)
            context.bought = True


class InvestThenFail(Hold):
    """Invests `fraction` (3 % by default) on its first bar, then raises on every bar, so
    the fund quarantines it with that small position: a low-volatility series."""

    def __init__(self, symbol: str, fraction: float = 0.03) -> None:
        super().__init__(symbol, fraction)

    def handle_data(self, context: Any, data: BarData, ledger: Ledger) -> None:
        if context.bought:
            raise RuntimeError("broken after its first bar")
        super().handle_data(context, data, ledger)


def holdings(ledger_state: dict[str, Any]) -> tuple[str, list[tuple[str, str, str]]]:
    """A ledger's cash and positions (asset, amount, cost basis) from its `to_state()`:
    what only fills and transfers change, unlike marks."""
    positions = sorted(
        (p["asset"], str(p["amount"]), str(p["cost_basis"])) for p in ledger_state["positions"]
    )
    return str(ledger_state["cash"]), positions


class AlmostIdle(Strategy):
    """Holds cash but for one round trip: buys `fraction` of its value in `symbol` on bar
    `on_bar` and sells it on the next, so its series is zero but for a day or two."""

    def __init__(self, symbol: str, on_bar: int = 10, fraction: float = 0.05) -> None:
        self.symbol = symbol
        self.on_bar = on_bar
        self.fraction = fraction

    def initialize(self, context: Any) -> None:
        context.bars = 0

    def handle_data(self, context: Any, data: BarData, ledger: Ledger) -> None:
        context.bars += 1
        if context.bars == self.on_bar:
            ledger.order_target_percent(self.symbol, self.fraction)
        elif context.bars == self.on_bar + 1:
            ledger.order_target(self.symbol, 0)
