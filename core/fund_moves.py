"""What the fund does to a strategy's ledger: moves cash in and out, closes every position,
hands positions over. `Ledger` inherits it; none of it is on the per-bar path (`process_slice`,
`mark`).

Forced sales by the fund (`transfer_out`, `liquidate`) execute at the current mark through the
slippage and commission models with no volume cap; their fills carry `order_id`
`FUND_ORDER_ID`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.costs import CommissionModel, SlippageModel
from core.errors import InsufficientFundsError, InvalidInputError
from core.fills import FillModel, forced_price
from core.money import ZERO, Number, to_decimal
from core.orders import FUND_ORDER_ID, Fill, Position


@dataclass(frozen=True, slots=True)
class TransferResult:
    """Cash moved (`amount` >= 0), the costs (commission + slippage) of the sales it took,
    and their fills."""

    amount: Decimal
    costs: Decimal = ZERO
    fills: tuple[Fill, ...] = ()


class FundMoves(ABC):
    """`transfer_in`, `transfer_out`, `liquidate`, `add_position`, `take_positions` and
    `release_positions`, expressed through the ledger's cash, positions and `_book`."""

    commission_model: CommissionModel
    slippage_model: SlippageModel
    fill_model: FillModel
    _cash: Decimal
    _net_flows: Decimal
    _positions: dict[str, Position]
    _positions_value: Decimal | None
    _last_ts: datetime | None

    @abstractmethod
    def cancel_all_orders(self, reason: str = "cancelled") -> int: ...

    @abstractmethod
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

    @abstractmethod
    def _update_position(
        self, asset: str, amount: Decimal, price: Decimal, last_price: Decimal
    ) -> None: ...

    def transfer_in(self, amount: Number) -> TransferResult:
        cash = _transfer_amount(amount)
        self._cash += cash
        self._net_flows += cash
        return TransferResult(cash)

    def transfer_out(self, amount: Number) -> TransferResult:
        """Withdraw `amount`, selling long positions pro rata at the mark when cash is short
        (cash after the withdrawal is >= 0, an overdraft included).

        Raises `InsufficientFundsError`, changing nothing, when selling everything is not
        enough. Open orders stay open. Zero moves nothing."""
        cash = _transfer_amount(amount)
        plan = self._plan_sales(cash) if cash and self._cash < cash else {}
        fills = tuple(self._force(asset, qty) for asset, qty in plan.items())
        self._cash -= cash
        self._net_flows -= cash
        return TransferResult(cash, _costs(fills), fills)

    def liquidate(self) -> TransferResult:
        """Cancel every order and close every position (sell longs, buy back shorts) at the
        mark with costs. Moves no cash out (`amount` 0): follow with `transfer_out`."""
        self.cancel_all_orders("liquidated")
        fills = tuple(self._force(a, p.amount) for a, p in list(self._positions.items()))
        return TransferResult(ZERO, _costs(fills), fills)

    def add_position(
        self, asset: str, amount: Number, cost_basis: Number, last_price: Number
    ) -> None:
        """Receive a position without trading (no cash moves). Merging into a held position
        needs the same mark, so that value in == value added; a position of the opposite sign
        nets against the held one as if traded at the incoming cost basis."""
        qty = to_decimal(amount, field="amount")
        basis = checked_price(cost_basis, "cost_basis")
        mark = checked_price(last_price, "last_price")
        if qty == 0 or basis is None or mark is None:
            raise InvalidInputError(f"{asset}: add_position needs amount != 0 and prices")
        held = self._positions.get(asset)
        if held is not None and held.last_price != mark:
            raise InvalidInputError(
                f"{asset}: marked at {held.last_price} here, {mark} in the incoming position"
            )
        self._update_position(asset, qty, basis, mark)

    def take_positions(self, positions: Iterable[Position]) -> None:
        for p in positions:
            self.add_position(p.asset, p.amount, p.cost_basis, p.last_price)

    def release_positions(self) -> list[Position]:
        """Remove and return every position (no cash moves; open orders stay)."""
        released = list(self._positions.values())
        self._positions = {}
        self._positions_value = ZERO
        return released

    def _force(self, asset: str, qty: Decimal) -> Fill:
        """Close `qty` of `asset` (positive: sell) at the mark, as an order of its own."""
        mark = self._positions[asset].last_price
        price, commission = self._forced_terms(asset, qty)
        return self._book(FUND_ORDER_ID, asset, -qty, price, commission, mark)

    def _forced_terms(self, asset: str, qty: Decimal) -> tuple[Decimal, Decimal]:
        mark = self._positions[asset].last_price
        price = forced_price(asset, -qty, mark, self._last_ts, self.slippage_model)
        return price, self.commission_model.commission(qty, price)

    def _proceeds(self, sales: Mapping[str, Decimal]) -> Decimal:
        """Cash that selling `sales` (asset -> quantity) at the mark would bring in."""
        total = ZERO
        for asset, qty in sales.items():
            if qty:
                price, commission = self._forced_terms(asset, qty)
                total += qty * price - commission
        return total

    def _plan_sales(self, amount: Decimal) -> dict[str, Decimal]:
        longs = {a: (p.amount, p.last_price) for a, p in self._positions.items() if p.amount > 0}
        plan = self.fill_model.plan_sales(amount - self._cash, longs, self._proceeds)
        if plan is None:
            raise InsufficientFundsError(
                f"cannot raise {amount}: cash {self._cash}, positions bring "
                f"{self._proceeds({a: q for a, (q, _) in longs.items()})} after costs"
            )
        return plan


def checked_price(value: Number | None, field: str) -> Decimal | None:
    if value is None:
        return None
    price = to_decimal(value, field=field)
    if price <= 0:
        raise InvalidInputError(f"{field} must be > 0, got {price}")
    return price


def _transfer_amount(value: Number) -> Decimal:
    """A finite amount >= 0 (zero moves nothing, so callers need not special-case it)."""
    amount = to_decimal(value, field="amount")
    if amount < 0:
        raise InvalidInputError(f"amount must be >= 0, got {amount}")
    return amount


def _costs(fills: tuple[Fill, ...]) -> Decimal:
    return sum((f.commission + f.slippage for f in fills), ZERO)
