"""What filling one slice's orders can change in a ledger, kept so the fill can be undone.

`Ledger.process_slice` is all or nothing: when filling or marking raises (a bar whose numbers
Decimal cannot multiply or sum), the ledger is put back as it was. Filling changes only the
cash and the running totals, the positions, and the mutable fields of the open orders (closed
orders are recorded by the sweep that follows a successful fill), so this checkpoint costs a
few tuples per open order and position, not a copy of the ledger's whole order history.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from core.orders import Order, OrderStatus, Position

if TYPE_CHECKING:
    from core.ledger import Ledger
    from core.market import Slice


class FillCheckpoint:
    __slots__ = ("money", "last_ts", "market", "positions_value", "positions", "held", "orders")

    def __init__(self, ledger: Ledger) -> None:
        self.money: tuple[Decimal, Decimal, Decimal, Decimal] = (
            ledger._cash,
            ledger._total_commission,
            ledger._total_slippage,
            ledger._realized_pnl,
        )
        self.last_ts: datetime | None = ledger._last_ts
        self.market: Slice | None = ledger._market
        self.positions_value: Decimal | None = ledger._positions_value
        positions = ledger._positions
        self.positions: dict[str, Position] = dict(positions)
        self.held = (
            [(p, p.amount, p.cost_basis, p.last_price, p.realized_pnl) for p in positions.values()]
            if positions
            else ()
        )
        self.orders: list[tuple[Order, Decimal, OrderStatus, str | None, bool, Decimal]] = [
            (o, o.filled, o.status, o.reason, o.stop_triggered, o.commission)
            for o in ledger._orders.open
        ]

    def restore(self, ledger: Ledger) -> None:
        """Put `ledger` back as it was when the checkpoint was taken."""
        (
            ledger._cash,
            ledger._total_commission,
            ledger._total_slippage,
            ledger._realized_pnl,
        ) = self.money
        ledger._last_ts = self.last_ts
        ledger._market = self.market
        ledger._positions_value = self.positions_value
        ledger._positions = self.positions
        for position, amount, basis, last, realized in self.held:
            position.amount, position.cost_basis = amount, basis
            position.last_price, position.realized_pnl = last, realized
        for order, filled, status, reason, triggered, commission in self.orders:
            order.filled, order.status, order.reason = filled, status, reason
            order.stop_triggered, order.commission = triggered, commission
