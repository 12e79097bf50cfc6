"""What strategy code may do with its ledger: the capability boundary of a strategy.

`handle_data(context, data, ledger)` receives a `StrategyLedger`, never the `Ledger` itself.
The view offers what the seed's strategies use (orders and their target variants,
cancelling its own orders, reading positions, cash, value and orders) and nothing that moves
money or positions outside a fill: transfers, liquidation, handing positions over, marking
and restoring state are the fund's (`core.fund_moves`, `Ledger.process_slice`). Positions
come back as copies, so changing one changes nothing, and orders as read-only views
(`core.order_view`): an order fills with what it was checked and placed with.

It holds no `__dict__` and passes nothing through: a name not listed in `STRATEGY_API`
raises `AttributeError`, and one of the fund's operations says it is the fund's. The fund
still checks after every step that cash and positions changed only by fills
(`core.ledger_guard`), since Python cannot hide the ledger from code that goes looking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, getcontext, setcontext
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, NoReturn, TypeVar

from core.money import FUND_DECIMALS, Number, in_fund_decimals
from core.order_view import OrderView, view_of
from core.orders import Order, Position

if TYPE_CHECKING:
    from core.ledger import Ledger

STRATEGY_API = (
    "order",
    "order_value",
    "order_target",
    "order_target_value",
    "order_target_percent",
    "cancel_order",
    "cancel_all_orders",
    "get_order",
    "open_orders",
    "positions",
    "cash",
    "portfolio_value",
    "positions_value",
    "allow_short",
)
"""Everything strategy code may call or read on its ledger."""

FUND_ONLY = frozenset(
    {
        "transfer_in",
        "transfer_out",
        "add_position",
        "release_positions",
        "liquidate",
        "process_slice",
        "mark",
        "from_state",
        "to_state",
        "strategy_view",
    }
)
"""Operations of the `Ledger` that only the fund performs."""


_NO_POSITIONS: Mapping[str, Position] = MappingProxyType({})


def _copy(position: Position) -> Position:
    """A copy of `position`, its fields set directly (cheaper than its `__init__`, which is
    a Python function: strategies read their positions on every bar)."""
    copy = _new_position(Position)
    copy.asset, copy.amount = position.asset, position.amount
    copy.cost_basis, copy.last_price = position.cost_basis, position.last_price
    copy.realized_pnl = position.realized_pnl
    return copy


_new_position = object.__new__

_PORTFOLIO_VALUE: Callable[[Ledger], Decimal] = attrgetter("portfolio_value")
_POSITIONS_VALUE: Callable[[Ledger], Decimal] = attrgetter("positions_value")


def _valued(read: Callable[[Ledger], Decimal], ledger: Ledger) -> Decimal:
    """`read(ledger)` in `FUND_DECIMALS`, as `_placed` places an order (strategies read
    their value on every bar)."""
    outer = getcontext()
    if outer is FUND_DECIMALS:
        return read(ledger)
    setcontext(FUND_DECIMALS)
    try:
        return read(ledger)
    finally:
        setcontext(outer)


_Placed = TypeVar("_Placed", Order, "Order | None")


def _placed(
    place: Callable[[str, Number, Number | None, Number | None], _Placed],
    asset: str,
    amount: Number,
    limit_price: Number | None,
    stop_price: Number | None,
) -> _Placed:
    """`place(asset, amount, limit_price, stop_price)` in `FUND_DECIMALS`, as
    `in_fund_decimals` runs a method, the caller's (the strategy's) context current again
    after it. Written out for the order methods: strategies call them on every other bar,
    and the decorator's wrapper, which passes `*args` on, costs about as much as the order's
    own checks (a call CPython cannot inline: ~5,500 instructions)."""
    outer = getcontext()
    if outer is FUND_DECIMALS:
        return place(asset, amount, limit_price, stop_price)
    setcontext(FUND_DECIMALS)
    try:
        return place(asset, amount, limit_price, stop_price)
    finally:
        setcontext(outer)


class StrategyLedger:
    """The account of one strategy as its code sees it (see the module docstring)."""

    __slots__ = ("_ledger",)

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    # ---- orders ------------------------------------------------------------------------
    def order(
        self,
        asset: str,
        amount: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> OrderView:
        """Place an order (amount > 0 buys); it fills from the next bar on. Returns a
        read-only view of it (`core.order_view`), as every method here does."""
        return OrderView(_placed(self._ledger.order, asset, amount, limit_price, stop_price))

    def order_value(
        self,
        asset: str,
        value: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> OrderView:
        order = _placed(self._ledger.order_value, asset, value, limit_price, stop_price)
        return OrderView(order)

    def order_target(
        self,
        asset: str,
        target: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> OrderView | None:
        return view_of(_placed(self._ledger.order_target, asset, target, limit_price, stop_price))

    def order_target_value(
        self,
        asset: str,
        target_value: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> OrderView | None:
        place = self._ledger.order_target_value
        return view_of(_placed(place, asset, target_value, limit_price, stop_price))

    def order_target_percent(
        self,
        asset: str,
        target: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> OrderView | None:
        place = self._ledger.order_target_percent
        return view_of(_placed(place, asset, target, limit_price, stop_price))

    @in_fund_decimals
    def cancel_order(self, order_or_id: OrderView | int, reason: str = "cancelled") -> None:
        order_id = order_or_id.id if isinstance(order_or_id, OrderView | Order) else order_or_id
        self._ledger.cancel_order(order_id, reason)

    @in_fund_decimals
    def cancel_all_orders(self, reason: str = "cancelled") -> int:
        return self._ledger.cancel_all_orders(reason)

    def get_order(self, order_id: int) -> OrderView | None:
        return view_of(self._ledger.get_order(order_id))

    @property
    def open_orders(self) -> list[OrderView]:
        return [OrderView(order) for order in self._ledger._orders.open]

    # ---- holdings ----------------------------------------------------------------------
    @property
    def positions(self) -> Mapping[str, Position]:
        """asset -> a copy of the Position (read-only mapping)."""
        held = self._ledger._positions
        if not held:
            return _NO_POSITIONS
        copies = {}
        for asset, position in held.items():  # a loop, not a comprehension: no call
            copies[asset] = _copy(position)
        return MappingProxyType(copies)

    @property
    def cash(self) -> Decimal:
        return self._ledger._cash

    @property
    def portfolio_value(self) -> Decimal:
        return _valued(_PORTFOLIO_VALUE, self._ledger)

    @property
    def positions_value(self) -> Decimal:
        return _valued(_POSITIONS_VALUE, self._ledger)

    @property
    def allow_short(self) -> bool:
        return self._ledger.allow_short

    # ---- the boundary ------------------------------------------------------------------
    def __getattr__(self, name: str) -> NoReturn:
        """Only reached for names the view does not have: say why, pass nothing through."""
        if name in FUND_ONLY:
            raise AttributeError(
                f"{name} is a fund operation, not part of a strategy's ledger: money and "
                f"positions move only by fills and by the fund (a strategy may use "
                f"{', '.join(STRATEGY_API)})",
                name=name,
                obj=self,
            )
        raise AttributeError(
            f"a strategy's ledger has no attribute {name!r} (it offers {', '.join(STRATEGY_API)})",
            name=name,
            obj=self,
        )

    def __repr__(self) -> str:
        ledger = self._ledger
        return (
            f"StrategyLedger(cash={ledger.cash}, positions={len(ledger.positions)}, "
            f"open_orders={len(ledger.open_orders)}, value={ledger.portfolio_value})"
        )
