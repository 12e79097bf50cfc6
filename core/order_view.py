"""Orders as strategy code sees them: live, and read-only.

`StrategyLedger.order(...)`, `get_order`, `open_orders` and the target variants hand strategy
code an `OrderView` of the ledger's `Order`, never the `Order` itself. The view follows the
order as it fills, is cancelled or is rejected (`view.status`, `view.filled` read the order
now), but nothing can be set through it: the amount, prices and commission an order was
checked and placed with are the ones it fills with. To change an order, cancel it and place
another.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn

from core.orders import Order, OrderStatus

ORDER_FIELDS = (
    "id",
    "asset",
    "amount",
    "limit_price",
    "stop_price",
    "created_ts",
    "filled",
    "status",
    "reason",
    "stop_triggered",
    "commission",
)
"""The fields of an `Order`, readable through its view."""


class OrderView:
    """A read-only view of one `Order` (see the module docstring). It equals its order and
    any view of it. Pickled on its own it keeps the order's state at that moment; in a
    strategy host's snapshot it follows the restored ledger's order (`workers.kept_orders`)."""

    __slots__ = ("_order",)

    _order: Order

    def __init__(self, order: Order) -> None:
        _set_order(self, order)

    @property
    def id(self) -> int:
        return self._order.id

    @property
    def asset(self) -> str:
        return self._order.asset

    @property
    def amount(self) -> Decimal:
        return self._order.amount

    @property
    def limit_price(self) -> Decimal | None:
        return self._order.limit_price

    @property
    def stop_price(self) -> Decimal | None:
        return self._order.stop_price

    @property
    def created_ts(self) -> datetime | None:
        return self._order.created_ts

    @property
    def filled(self) -> Decimal:
        return self._order.filled

    @property
    def status(self) -> OrderStatus:
        return self._order.status

    @property
    def reason(self) -> str | None:
        return self._order.reason

    @property
    def stop_triggered(self) -> bool:
        return self._order.stop_triggered

    @property
    def commission(self) -> Decimal:
        return self._order.commission

    @property
    def remaining(self) -> Decimal:
        return self._order.remaining

    @property
    def is_open(self) -> bool:
        return self._order.is_open

    @property
    def is_buy(self) -> bool:
        return self._order.is_buy

    @property
    def kind(self) -> str:
        return self._order.kind

    def to_state(self) -> dict[str, Any]:
        return self._order.to_state()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(
            f"orders are read-only to strategy code (cannot set {name!r}): cancel the order "
            f"(ledger.cancel_order) and place another",
            name=name,
            obj=self,
        )

    def __delattr__(self, name: str) -> NoReturn:
        self.__setattr__(name, None)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OrderView):
            return self._order == other._order
        if isinstance(other, Order):
            return self._order == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as its order's: equal orders may change

    def __repr__(self) -> str:
        return repr(self._order).replace("Order(", "OrderView(", 1)

    def __reduce__(self) -> tuple[Any, ...]:
        return OrderView, (self._order,)


_set_order = OrderView.__dict__["_order"].__set__  # the slot itself, past `__setattr__`


def view_of(order: Order | None) -> OrderView | None:
    """`order`'s view, or None."""
    return None if order is None else OrderView(order)
