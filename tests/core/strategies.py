"""Small deterministic strategies for core tests."""

from __future__ import annotations

from typing import Any


class BuyAndHold:
    """Buys `amount` of `symbol` on its first bar, then holds."""

    def __init__(self, symbol: str = "AAA", amount: int = 100) -> None:
        self.symbol = symbol
        self.amount = amount

    def initialize(self, context: Any) -> None:
        context.bought = False
        context.bars = 0

    def handle_data(self, context: Any, data: Any, ledger: Any) -> None:
        context.bars += 1
        if not context.bought and self.symbol in data:
            ledger.order(self.symbol, self.amount)
            context.bought = True


class Idle:
    def handle_data(self, context: Any, data: Any, ledger: Any) -> None:
        pass


class Flaky:
    """Raises on the bars listed in `fail_on` (1-based call numbers)."""

    def __init__(self, fail_on: set[int]) -> None:
        self.fail_on = fail_on
        self.calls = 0

    def handle_data(self, context: Any, data: Any, ledger: Any) -> None:
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError(f"boom {self.calls}")


class LimitBuyer:
    """Places one limit order below the market on its first bar and keeps it open."""

    def handle_data(self, context: Any, data: Any, ledger: Any) -> None:
        if not ledger.open_orders and not ledger.positions:
            ledger.order("AAA", 10, limit_price=1)
