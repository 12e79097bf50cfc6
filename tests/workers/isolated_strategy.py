"""A strategy that only child processes import: the tests check the parent never does.

No test module imports this file; it is referenced by import path only.
"""

from __future__ import annotations

from typing import Any

from core.history import BarData
from core.ledger import Ledger
from workers.strategy import Strategy


class ChildOnly(Strategy):
    """Holds `shares` of every symbol of its first bar."""

    def __init__(self, shares: int = 5) -> None:
        self.shares = shares

    def handle_data(self, context: Any, data: BarData, ledger: Ledger) -> None:
        for symbol in sorted(data):
            ledger.order_target(symbol, self.shares)
