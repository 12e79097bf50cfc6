"""Orders, fills and positions of one ledger, and their JSON-able state.

State dicts hold Decimals as strings and timestamps as ISO 8601, so `from_state(to_state())`
restores equal objects with the same digits.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple

from core.errors import InvalidInputError
from core.money import ZERO

CLOSED_ORDERS_KEPT = 100
"""How many filled, cancelled or rejected orders an `OrderBook` still finds by id."""

FUND_ORDER_ID = 0
"""`Fill.order_id` of sales the fund forces on a ledger (`transfer_out`, `liquidate`):
they belong to no strategy order."""


class OrderStatus(Enum):
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@dataclass(slots=True)
class Order:
    """An order of one ledger. `amount` is signed: positive buys, negative sells.

    Orders placed while handling slice t are first eligible to fill against slice t+1.
    `filled` grows with partial fills; `reason` says why an order was rejected or cancelled.
    `commission` is what its fills were charged so far (per-order minimums use it) and
    `stop_triggered` remembers across bars that the stop price was crossed.
    """

    id: int
    asset: str
    amount: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    created_ts: datetime | None = None
    filled: Decimal = ZERO
    status: OrderStatus = OrderStatus.OPEN
    reason: str | None = None
    stop_triggered: bool = False
    commission: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_open(self) -> bool:
        return self.status is OrderStatus.OPEN

    @property
    def is_buy(self) -> bool:
        return self.amount > 0

    @property
    def kind(self) -> str:
        """'market', 'limit', 'stop' or 'stop_limit'."""
        if self.stop_price is None:
            return "market" if self.limit_price is None else "limit"
        return "stop" if self.limit_price is None else "stop_limit"

    def to_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "asset": self.asset,
            "amount": str(self.amount),
            "limit_price": _opt_str(self.limit_price),
            "stop_price": _opt_str(self.stop_price),
            "created_ts": _ts_str(self.created_ts),
            "filled": str(self.filled),
            "status": self.status.value,
            "reason": self.reason,
            "stop_triggered": self.stop_triggered,
            "commission": str(self.commission),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Order:
        try:
            return cls(
                id=int(state["id"]),
                asset=str(state["asset"]),
                amount=Decimal(state["amount"]),
                limit_price=_opt_decimal(state["limit_price"]),
                stop_price=_opt_decimal(state["stop_price"]),
                created_ts=_ts(state["created_ts"]),
                filled=Decimal(state["filled"]),
                status=OrderStatus(state["status"]),
                reason=state["reason"],
                stop_triggered=bool(state["stop_triggered"]),
                commission=Decimal(state["commission"]),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidInputError(f"invalid order state: {exc!r}") from None


new_record = tuple.__new__
"""`new_record(Fill, (order_id, ts, ...))`: a NamedTuple built from every one of its fields,
in order, as unpickling builds one. A NamedTuple's own constructor is a Python function
(it applies the defaults) that takes about twice as long, which the paths building one per
strategy and slice (a step's report and outcome) or per fill are worth sparing."""


class Fill(NamedTuple):
    """One execution. `price` includes slippage; `slippage` is the cost it represents
    (|price - reference| x |amount|), reported for analysis and never charged twice.
    The cash of the ledger changes by exactly -(amount x price) - commission.

    Immutable; a NamedTuple because one is built for every fill."""

    order_id: int
    ts: datetime | None
    asset: str
    amount: Decimal
    price: Decimal
    commission: Decimal
    slippage: Decimal = ZERO

    @property
    def value(self) -> Decimal:
        return self.amount * self.price

    def to_state(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "ts": _ts_str(self.ts),
            "asset": self.asset,
            "amount": str(self.amount),
            "price": str(self.price),
            "commission": str(self.commission),
            "slippage": str(self.slippage),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Fill:
        try:
            return cls(
                order_id=int(state["order_id"]),
                ts=_ts(state["ts"]),
                asset=str(state["asset"]),
                amount=Decimal(state["amount"]),
                price=Decimal(state["price"]),
                commission=Decimal(state["commission"]),
                slippage=Decimal(state["slippage"]),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidInputError(f"invalid fill state: {exc!r}") from None


@dataclass(slots=True)
class Position:
    """A holding: signed `amount`, average `cost_basis`, and `last_price` (the mark).

    `realized_pnl` is (price - cost_basis) x quantity closed, gross of commission. Owned by
    its ledger: read it, do not change it.
    """

    asset: str
    amount: Decimal
    cost_basis: Decimal
    last_price: Decimal
    realized_pnl: Decimal = ZERO

    @property
    def market_value(self) -> Decimal:
        return self.amount * self.last_price

    @property
    def unrealized_pnl(self) -> Decimal:
        return (self.last_price - self.cost_basis) * self.amount

    def apply(self, amount: Decimal, price: Decimal) -> Decimal:
        """Average-cost accounting of `amount` acquired at `price` (negative: disposed of).

        Adding to the position averages the cost; reducing it realises P&L on the quantity
        closed; going through zero opens the rest at `price`. Returns the P&L realised.
        """
        held = self.amount
        new = held + amount
        realized = ZERO
        if held * amount > 0:
            self.cost_basis = (held * self.cost_basis + amount * price) / new
        else:
            closed = -amount if abs(amount) <= abs(held) else held
            realized = (price - self.cost_basis) * closed
            self.realized_pnl += realized
            if new * held < 0:
                self.cost_basis = price
        self.amount = new
        return realized

    def to_state(self) -> dict[str, str]:
        return {
            "asset": self.asset,
            "amount": str(self.amount),
            "cost_basis": str(self.cost_basis),
            "last_price": str(self.last_price),
            "realized_pnl": str(self.realized_pnl),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Position:
        try:
            fields = ("amount", "cost_basis", "last_price", "realized_pnl")
            return cls(str(state["asset"]), *(Decimal(state[f]) for f in fields))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidInputError(f"invalid position state: {exc!r}") from None


class OrderBook:
    """The orders of one ledger: the open ones in placement order, a record of the last
    `CLOSED_ORDERS_KEPT` closed ones, and the id counter (ids start at 1)."""

    __slots__ = ("open", "closed", "next_id")

    def __init__(self) -> None:
        self.open: list[Order] = []
        self.closed: deque[Order] = deque(maxlen=CLOSED_ORDERS_KEPT)
        """The closed orders kept, oldest first (the oldest drops out as one is added)."""
        self.next_id = 1

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        _, slots = state
        for name, value in slots.items():
            object.__setattr__(self, name, value)
        if isinstance(self.closed, dict):  # pickled when the book kept them by id
            self.closed = deque(self.closed.values(), maxlen=CLOSED_ORDERS_KEPT)

    def new(self, order: Order) -> Order:
        """Number `order` (its `id` is replaced) and keep it open, or closed if it is not."""
        order.id = self.next_id
        self.next_id += 1
        if order.status is OrderStatus.OPEN:
            self.open.append(order)
        else:
            self.record(order)
        return order

    def get(self, order_id: int) -> Order | None:
        """The open or kept closed order of that id (the closed ones are scanned, latest
        first: a lookup is rarer than the order closing that `record` keeps cheap)."""
        for order in self.open:
            if order.id == order_id:
                return order
        for order in reversed(self.closed):  # the latest first: what strategies look up
            if order.id == order_id:
                return order
        return None

    def by_id(self) -> dict[int, Order]:
        return {order.id: order for order in sorted((*self.closed, *self.open), key=_order_id)}

    def pending(self, asset: str, *, sells_only: bool = False) -> Decimal:
        """What the open orders for `asset` still want to trade (signed)."""
        return sum(
            (
                o.remaining
                for o in self.open
                if o.asset == asset and (o.amount < 0 or not sells_only)
            ),
            ZERO,
        )

    def cancel(self, order_id: int, reason: str) -> None:
        """Cancel an open order; a closed one is left as it is; an id never issued raises."""
        for i, order in enumerate(self.open):
            if order.id == order_id:
                del self.open[i]
                self.close(order, OrderStatus.CANCELLED, reason)
                return
        if not 0 < order_id < self.next_id:
            raise InvalidInputError(f"unknown order id {order_id}")

    def cancel_all(self, reason: str) -> int:
        cancelled, self.open = self.open, []
        for order in cancelled:
            self.close(order, OrderStatus.CANCELLED, reason)
        return len(cancelled)

    def close(self, order: Order, status: OrderStatus, reason: str | None) -> None:
        order.status = status
        order.reason = reason
        self.record(order)

    def record(self, order: Order) -> None:
        self.closed.append(order)  # the oldest kept drops out past CLOSED_ORDERS_KEPT

    def sweep(self) -> None:
        """Move orders that filled or were rejected from the open list to the record."""
        still_open = []
        for order in self.open:
            if order.status is OrderStatus.OPEN:
                still_open.append(order)
            else:
                self.record(order)
        self.open = still_open

    def to_state(self) -> dict[str, Any]:
        return {
            "open_orders": [o.to_state() for o in self.open],
            "closed_orders": [o.to_state() for o in self.closed],
            "next_order_id": self.next_id,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> OrderBook:
        book = cls()
        book.open = [Order.from_state(o) for o in state["open_orders"]]
        book.closed.extend(map(Order.from_state, state["closed_orders"]))
        book.next_id = int(state["next_order_id"])
        return book


def _order_id(order: Order) -> int:
    return order.id


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _opt_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _ts_str(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat()


def _ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
