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

from collections.abc import Mapping
from decimal import Decimal, getcontext, setcontext
from types import MappingProxyType
from typing import TYPE_CHECKING, NoReturn

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
        read-only view of it (`core.order_view`), as every method here does.

        In `FUND_DECIMALS`, as `in_fund_decimals` would run it (written out: strategies
        call this on every other bar, and the decorator's wrapper is a call of its own)."""
        outer = getcontext()
        if outer is FUND_DECIMALS:
            return OrderView(self._ledger.order(asset, amount, limit_price, stop_price))
        setcontext(FUND_DECIMALS)
        try:
            return OrderView(self._ledger.order(asset, amount, limit_price, stop_price))
        finally:
            setcontext(outer)

    @in_fund_decimals
    def order_value(
        self,
        asset: str,
        value: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> OrderView:
        return OrderView(self._ledger.order_value(asset, value, limit_price, stop_price))

    @in_fund_decimals
    def order_target(
        self,
        asset: str,
        target: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> OrderView | None:
        return view_of(self._ledger.order_target(asset, target, limit_price, stop_price))

    @in_fund_decimals
    def order_target_value(
        self,
        asset: str,
        target_value: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> OrderView | None:
        ledger = self._ledger
        return view_of(ledger.order_target_value(asset, target_value, limit_price, stop_price))

    @in_fund_decimals
    def order_target_percent(
        self,
        asset: str,
        target: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> OrderView | None:
        return view_of(self._ledger.order_target_percent(asset, target, limit_price, stop_price))

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
    @in_fund_decimals
    def portfolio_value(self) -> Decimal:
        return self._ledger.portfolio_value

    @property
    @in_fund_decimals
    def positions_value(self) -> Decimal:
        return self._ledger.positions_value

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
