"""What filling one slice's orders can change in a ledger, kept so the fill can be undone.

`Ledger.process_slice` is all or nothing: when filling or marking raises (a bar whose numbers
Decimal cannot multiply or sum), the ledger is put back as it was. Filling changes only the
cash and the running totals, the positions, and the mutable fields of the open orders (closed
orders are recorded by the sweep that follows a successful fill), so this checkpoint costs a
few tuples per open order and position, not a copy of the ledger's whole order history.
"""

from __future__ import annotations

from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from core.orders import Order, OrderStatus, Position

if TYPE_CHECKING:
    from core.ledger import Ledger


_FIELDS = (
    "_cash",
    "_total_commission",
    "_total_slippage",
    "_realized_pnl",
    "_last_ts",
    "_market",
    "_positions_value",
)
"""The ledger's own fields that filling and marking may change (its positions dict is the
next part of a checkpoint, the positions' and open orders' fields the two after)."""

_read_fields = attrgetter(*_FIELDS)

FillCheckpoint = tuple[
    tuple[Any, ...],  # the values of `_FIELDS`
    dict[str, Position],  # the positions dict's entries
    "list[tuple[Position, Decimal, Decimal, Decimal, Decimal]] | tuple[()]",  # their fields
    list[tuple[Order, Decimal, OrderStatus, "str | None", bool, Decimal]],  # open orders'
]
"""What filling may change in a ledger, as it was: a plain tuple, the cheapest thing to
build (one is taken for every ledger with open orders on every slice)."""


def take(ledger: Ledger) -> FillCheckpoint:
    """A checkpoint of `ledger` before its open orders fill."""
    positions = ledger._positions
    return (
        _read_fields(ledger),
        positions.copy(),
        [(p, p.amount, p.cost_basis, p.last_price, p.realized_pnl) for p in positions.values()]
        if positions
        else (),
        [
            (o, o.filled, o.status, o.reason, o.stop_triggered, o.commission)
            for o in ledger._orders.open
        ],
    )


def restore(ledger: Ledger, checkpoint: FillCheckpoint) -> None:
    """Put `ledger` back as it was when `checkpoint` was taken."""
    fields, positions, held, orders = checkpoint
    for name, value in zip(_FIELDS, fields, strict=True):
        setattr(ledger, name, value)
    ledger._positions = positions
    for position, amount, basis, last, realized in held:
        position.amount, position.cost_basis = amount, basis
        position.last_price, position.realized_pnl = last, realized
    for order, filled, status, reason, triggered, commission in orders:
        order.filled, order.status, order.reason = filled, status, reason
        order.stop_triggered, order.commission = triggered, commission
