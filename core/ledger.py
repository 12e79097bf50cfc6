"""The ledger of one strategy: cash, positions and orders, filled and marked slice by slice.

Money is exact Decimal. A fill moves cash by exactly -(qty x price) - commission (the price
already holds the slippage, which is reported, never charged again), so at every moment

    cash == starting_cash + net_flows - sum(fill.value) - sum(fill.commission)
    portfolio_value == cash + sum(position.amount x position.last_price)

Positions use average-cost accounting (`Position.apply`). `realized_pnl` is gross of
commission; commissions are tracked in `total_commission`.

By default a fill that would take cash below zero rejects its order ("insufficient cash"),
and a sell that would leave a short position is rejected when placed and again when it fills;
`allow_negative_cash` and `allow_short` lift these rules. What the fund does to a ledger
(transfers, liquidation, handing positions over) is inherited from `core.fund_moves`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from core import fill_checkpoint
from core.costs import CommissionModel, NoCommission, NoSlippage, SlippageModel
from core.errors import InvalidInputError
from core.fills import FillModel, Match
from core.fund_moves import FundMoves, checked_price
from core.market import Slice
from core.money import ZERO, Number, format_money, to_decimal
from core.orders import Fill, Order, OrderBook, OrderStatus, Position, new_record
from core.strategy_ledger import StrategyLedger
from core.target_orders import TargetOrders

STATE_VERSION = 1
_MONEY_STATE = (
    "starting_cash",
    "cash",
    "net_flows",
    "total_commission",
    "total_slippage",
    "realized_pnl",
)


class Ledger(TargetOrders, FundMoves):
    """Cash, positions and orders of one strategy (see the module docstring for the rules).

    Defaults: `NoCommission`, `NoSlippage` and `FillModel()` (2.5 % volume cap, whole-share
    lots). The models are configuration, not state: equality and `to_state` leave them out.
    """

    def __init__(
        self,
        starting_cash: Decimal | int | str = 0,
        *,
        commission: CommissionModel | None = None,
        slippage: SlippageModel | None = None,
        fill_model: FillModel | None = None,
        allow_negative_cash: bool = False,
        allow_short: bool = False,
    ) -> None:
        self.commission_model: CommissionModel = commission or NoCommission()
        self.slippage_model: SlippageModel = slippage or NoSlippage()
        self.fill_model = fill_model or FillModel()
        self.allow_negative_cash = allow_negative_cash
        self.allow_short = allow_short
        self._starting_cash = to_decimal(starting_cash, field="starting_cash")
        self._cash = self._starting_cash
        self._positions: dict[str, Position] = {}
        self._orders = OrderBook()
        self._last_ts: datetime | None = None
        self._net_flows = ZERO
        self._total_commission = ZERO
        self._total_slippage = ZERO
        self._realized_pnl = ZERO
        self._positions_value: Decimal | None = ZERO
        self._market: Slice | None = None  # prices for order_value; not state
        self._view: StrategyLedger | None = None  # built once, on first use; not state

    def strategy_view(self) -> StrategyLedger:
        """What strategy code gets of this ledger (`core.strategy_ledger`), built once."""
        view = self._view
        if view is None:
            view = self._view = StrategyLedger(self)
        return view

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_view", None)  # pickled before ledgers had views

    # ---- state -----------------------------------------------------------------------------
    @property
    def cash(self) -> Decimal:
        return self._cash

    @property
    def starting_cash(self) -> Decimal:
        return self._starting_cash

    @property
    def positions(self) -> Mapping[str, Position]:
        """A read-only view: asset -> Position (positions at zero are removed)."""
        return MappingProxyType(self._positions)

    @property
    def positions_value(self) -> Decimal:
        value = self._positions_value
        if value is None:
            value = sum((p.amount * p.last_price for p in self._positions.values()), ZERO)
            self._positions_value = value
        return value

    @property
    def portfolio_value(self) -> Decimal:
        return self._cash + self.positions_value

    @property
    def open_orders(self) -> list[Order]:
        return list(self._orders.open)

    @property
    def orders(self) -> dict[int, Order]:
        """Open orders and the last `CLOSED_ORDERS_KEPT` closed ones, by id."""
        return self._orders.by_id()

    def get_order(self, order_id: int) -> Order | None:
        return self._orders.get(order_id)

    @property
    def last_ts(self) -> datetime | None:
        return self._last_ts

    @property
    def orders_placed(self) -> int:
        """Orders placed since the ledger opened (order ids count them)."""
        return self._orders.next_id - 1

    @property
    def net_flows(self) -> Decimal:
        return self._net_flows

    @property
    def total_commission(self) -> Decimal:
        return self._total_commission

    @property
    def total_slippage(self) -> Decimal:
        return self._total_slippage

    @property
    def realized_pnl(self) -> Decimal:
        """Realised P&L of every position ever reduced, gross of commission."""
        return self._realized_pnl

    @property
    def lot_size(self) -> Decimal:
        return self.fill_model.lot_size

    # ---- trading ---------------------------------------------------------------------------
    def order(
        self,
        asset: str,
        amount: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> Order:
        """Place an order (amount > 0 buys). Invalid input raises `InvalidInputError`; a sell
        that would go short without `allow_short` is returned REJECTED."""
        if not isinstance(asset, str) or not asset:
            raise InvalidInputError(f"asset must be a non-empty str, got {asset!r}")
        if isinstance(amount, Decimal) and amount.is_finite():  # `to_decimal`, without the call
            qty = amount
        else:
            qty = to_decimal(amount, field="amount")
        if qty == 0:
            raise InvalidInputError(f"{asset}: order amount must not be 0")
        if not self.fill_model.is_lot_multiple(qty):
            raise InvalidInputError(f"{asset}: amount {qty} is not a multiple of {self.lot_size}")
        limit = None if limit_price is None else checked_price(limit_price, "limit_price")
        stop = None if stop_price is None else checked_price(stop_price, "stop_price")
        order = Order(0, asset, qty, limit, stop, self._last_ts)
        if qty < 0 and not self.allow_short:
            held = self._held(asset)
            book = self._orders
            selling = qty + (book.pending(asset, sells_only=True) if book.open else ZERO)
            if held + selling < 0:
                order.status = OrderStatus.REJECTED
                order.reason = f"short selling not allowed: holds {held}, sells {-selling}"
        return self._orders.new(order)

    def cancel_order(self, order_or_id: Order | int, reason: str = "cancelled") -> None:
        """Cancel an open order; closed orders are left as they are."""
        order_id = order_or_id.id if isinstance(order_or_id, Order) else order_or_id
        self._orders.cancel(order_id, reason)

    def cancel_all_orders(self, reason: str = "cancelled") -> int:
        return self._orders.cancel_all(reason)

    # ---- driven by the fund ----------------------------------------------------------------
    def process_slice(self, market: Slice) -> list[Fill]:
        """Fill the open orders against `market`, then mark every position to its close.

        All or nothing: when the arithmetic fails (a bar whose numbers Decimal cannot multiply
        or sum, e.g. `decimal.Overflow`), the ledger is left exactly as it was and the error
        is raised."""
        if not self._orders.open:
            self.mark(market)
            self._last_ts = market.ts
            return []
        checkpoint = fill_checkpoint.take(self)
        try:
            self._last_ts = market.ts
            fills = self.fill_model.fill_orders(
                self._orders.open, market, self.slippage_model, self._fill
            )
            self.mark(market)
        except BaseException:  # a KeyboardInterrupt too: never leave half a fill behind
            fill_checkpoint.restore(self, checkpoint)
            raise
        self._orders.sweep()
        return fills

    def mark(self, market: Slice) -> None:
        """Mark positions to their bar's close; assets without a bar keep their last price.
        All or nothing: if the value cannot be computed, no mark changes and it raises."""
        if not self._positions:
            self._market = market
            self._positions_value = ZERO
            return
        total = ZERO
        marked: list[tuple[Position, Decimal]] = []
        bars = market._bars  # one dict lookup per position: this runs for every strategy-bar
        try:
            for asset, position in self._positions.items():
                bar = bars.get(asset)
                if bar is not None:
                    marked.append((position, position.last_price))
                    position.last_price = bar.close
                total += position.amount * position.last_price
        except BaseException:  # a KeyboardInterrupt too: never leave half the marks
            for position, price in marked:
                position.last_price = price
            raise
        self._market = market
        self._positions_value = total

    # ---- persistence -----------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        """Equal state to the digit: what `to_state` holds (the models are not compared)."""
        if not isinstance(other, Ledger):
            return NotImplemented
        return self.to_state() == other.to_state()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Ledger(cash={self._cash}, positions={len(self._positions)}, "
            f"open_orders={len(self._orders.open)}, value={self.portfolio_value})"
        )

    def to_state(self) -> dict[str, Any]:
        """JSON-able state (Decimals as str); `from_state` restores an equal ledger."""
        return {
            "version": STATE_VERSION,
            **{name: str(getattr(self, "_" + name)) for name in _MONEY_STATE},
            "positions": [p.to_state() for p in self._positions.values()],
            **self._orders.to_state(),
            "last_ts": None if self._last_ts is None else self._last_ts.isoformat(),
            "allow_negative_cash": self.allow_negative_cash,
            "allow_short": self.allow_short,
        }

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        *,
        commission: CommissionModel | None = None,
        slippage: SlippageModel | None = None,
        fill_model: FillModel | None = None,
    ) -> Ledger:
        if state.get("version") != STATE_VERSION:
            raise InvalidInputError(f"unsupported ledger state version {state.get('version')!r}")
        ledger = cls(commission=commission, slippage=slippage, fill_model=fill_model)
        try:
            ledger._restore(state)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidInputError(f"invalid ledger state: {exc!r}") from None
        return ledger

    def _restore(self, state: Mapping[str, Any]) -> None:
        for name in _MONEY_STATE:
            setattr(self, "_" + name, Decimal(state[name]))
        positions = map(Position.from_state, state["positions"])
        self._positions = {position.asset: position for position in positions}
        self._positions_value = None
        self._orders = OrderBook.from_state(state)
        ts = state["last_ts"]
        self._last_ts = None if ts is None else datetime.fromisoformat(ts)
        self.allow_negative_cash = bool(state["allow_negative_cash"])
        self.allow_short = bool(state["allow_short"])

    # ---- internals -------------------------------------------------------------------------
    def _held(self, asset: str) -> Decimal:
        position = self._positions.get(asset)
        return ZERO if position is None else position.amount

    def _last_price(self, asset: str) -> Decimal:
        position = self._positions.get(asset)
        if position is not None:
            return position.last_price
        if self._market is not None and asset in self._market:
            return self._market[asset].close
        raise InvalidInputError(f"{asset}: no price yet (no position and no bar seen)")

    def _value_to_amount(self, asset: str, value: Decimal) -> Decimal:
        return self.fill_model.lots(value / self._last_price(asset))

    def _pending_target(self, asset: str) -> Decimal:
        return self._held(asset) + self._orders.pending(asset)

    def _fill(self, order: Order, match: Match) -> Fill | None:
        amount, price = match.amount, match.price
        model = self.commission_model
        if type(model) is NoCommission:  # the default: the call would return ZERO
            commission = ZERO
        else:
            commission = model.commission(amount, price, order=order)
        cost = amount * price + commission
        if amount < 0 or (cost > 0 and self._cash < cost):  # what `_fill_refusal` may refuse
            reason = self._fill_refusal(order.asset, amount, cost)
            if reason is not None:
                order.status = OrderStatus.REJECTED
                order.reason = reason
                return None
        order.filled += amount
        order.commission += commission
        if order.filled == order.amount:
            order.status = OrderStatus.FILLED  # swept by `process_slice`
        return self._book(order.id, order.asset, amount, price, commission, match.reference)

    def _fill_refusal(self, asset: str, amount: Decimal, cost: Decimal) -> str | None:
        if amount < 0 and not self.allow_short:
            held = self._held(asset)
            if held + amount < 0:
                return f"short selling not allowed: holds {held}, sells {-amount}"
        if cost > 0 and self._cash < cost and not self.allow_negative_cash:
            return f"insufficient cash: needs {format_money(cost)}, has {format_money(self._cash)}"
        return None

    def _book(
        self,
        order_id: int,
        asset: str,
        amount: Decimal,
        price: Decimal,
        commission: Decimal,
        reference: Decimal,
    ) -> Fill:
        """Apply one execution to cash, position and totals."""
        self._cash -= amount * price + commission
        self._update_position(asset, amount, price, price)
        slippage = abs(price - reference) * abs(amount)
        self._total_commission += commission
        self._total_slippage += slippage
        fill = (order_id, self._last_ts, asset, amount, price, commission, slippage)
        return new_record(Fill, fill)  # every field, in order: see core.orders.new_record

    def _update_position(
        self, asset: str, amount: Decimal, price: Decimal, last_price: Decimal
    ) -> None:
        self._positions_value = None
        position = self._positions.get(asset)
        if position is None:
            self._positions[asset] = Position(asset, amount, price, last_price)
            return
        self._realized_pnl += position.apply(amount, price)
        if position.amount == 0:
            del self._positions[asset]


DecimalLedger = Ledger
