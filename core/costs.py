"""Transaction costs: commission models and slippage models.

Commission is a cash charge, rounded half-even to cents (`CASH_QUANTUM`). Slippage moves the
fill price against the trader; its cost is already inside `qty x price`, so it is reported on
the `Fill` and never charged again. Slippage models never cap volume: the only volume cap is
the `FillModel`'s, so nothing is limited twice.

A commission model gets the order being filled (None for a sale the fund forces, which is an
order of its own) so that per-order charges — `PerShare`'s minimum, `PerTrade`'s fee — are
charged once per order across its partial fills, using `Order.filled` and `Order.commission`
(what earlier fills of the order were charged).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from core.errors import InvalidInputError
from core.market import Bar
from core.money import BPS, ONE, PRICE_QUANTUM, ZERO, quantize_cash, to_decimal
from core.orders import Order


def _non_negative(model: object, name: str) -> None:
    """Convert a model's field to Decimal in place and check it is >= 0."""
    value = to_decimal(getattr(model, name), field=name)
    if value < 0:
        raise InvalidInputError(f"{name} must be >= 0, got {value}")
    object.__setattr__(model, name, value)


class CommissionModel(ABC):
    """Computes the commission of one fill: `amount` is the filled quantity (sign ignored)."""

    __slots__ = ()

    @abstractmethod
    def commission(self, amount: Decimal, price: Decimal, *, order: Order | None = None) -> Decimal:
        """Commission for filling `amount` at `price` now, given what `order` already paid."""


@dataclass(frozen=True, slots=True)
class NoCommission(CommissionModel):
    """Free trading (the `Ledger` default, so that value is conserved to the digit)."""

    def commission(self, amount: Decimal, price: Decimal, *, order: Order | None = None) -> Decimal:
        return ZERO


@dataclass(frozen=True, slots=True)
class PerShare(CommissionModel):
    """`cost` per share with a minimum of `min_trade_cost` per order.

    The order's cumulative commission is max(min_trade_cost, cost x cumulative shares),
    rounded to cents; each fill is charged the increase. So the minimum is paid once, on the
    first fill, and later partial fills pay only once the per-share total exceeds it.
    """

    cost: Decimal = Decimal("0.005")
    min_trade_cost: Decimal = Decimal("1")

    def __post_init__(self) -> None:
        _non_negative(self, "cost")
        _non_negative(self, "min_trade_cost")

    def commission(self, amount: Decimal, price: Decimal, *, order: Order | None = None) -> Decimal:
        done, charged = (ZERO, ZERO) if order is None else (abs(order.filled), order.commission)
        total = quantize_cash(max(self.min_trade_cost, self.cost * (done + abs(amount))))
        return max(ZERO, total - charged)


@dataclass(frozen=True, slots=True)
class PerTrade(CommissionModel):
    """A flat `cost` per order, charged on its first fill."""

    cost: Decimal = Decimal("1")

    def __post_init__(self) -> None:
        _non_negative(self, "cost")

    def commission(self, amount: Decimal, price: Decimal, *, order: Order | None = None) -> Decimal:
        if order is not None and order.filled != 0:
            return ZERO
        return quantize_cash(self.cost)


@dataclass(frozen=True, slots=True)
class BasisPoints(CommissionModel):
    """`bps` basis points of each fill's traded value, rounded to cents per fill."""

    bps: Decimal = Decimal("1")

    def __post_init__(self) -> None:
        _non_negative(self, "bps")

    def commission(self, amount: Decimal, price: Decimal, *, order: Order | None = None) -> Decimal:
        return quantize_cash(abs(amount) * price * self.bps / BPS)


class SlippageModel(ABC):
    """Turns a reference price into a fill price for a signed `amount` (buys > 0).

    The price moves against the trader only (up for buys, down for sells). Computed prices are
    rounded to `PRICE_QUANTUM` away from the trader's favour, so rounding never makes a fill
    better than its reference.
    """

    __slots__ = ()

    @abstractmethod
    def fill_price(self, reference: Decimal, amount: Decimal, bar: Bar) -> Decimal:
        """The price at which `amount` fills when the market is at `reference` in `bar`."""


def _against(reference: Decimal, impact: Decimal, amount: Decimal) -> Decimal:
    """reference + impact for buys, reference - impact for sells, rounded against the trader."""
    if amount > 0:
        return (reference + impact).quantize(PRICE_QUANTUM, rounding=ROUND_CEILING)
    return (reference - impact).quantize(PRICE_QUANTUM, rounding=ROUND_FLOOR)


@dataclass(frozen=True, slots=True)
class NoSlippage(SlippageModel):
    """Fill at the reference price, unchanged (the `Ledger` default)."""

    def fill_price(self, reference: Decimal, amount: Decimal, bar: Bar) -> Decimal:
        return reference


@dataclass(frozen=True, slots=True)
class FixedBasisPoints(SlippageModel):
    """The price moves `bps` basis points against the trader."""

    bps: Decimal = Decimal("5")

    def __post_init__(self) -> None:
        _non_negative(self, "bps")
        if self.bps >= BPS:
            raise InvalidInputError(f"bps must be < {BPS}, got {self.bps}")

    def fill_price(self, reference: Decimal, amount: Decimal, bar: Bar) -> Decimal:
        return _against(reference, reference * self.bps / BPS, amount)


@dataclass(frozen=True, slots=True)
class VolumeShareSlippage(SlippageModel):
    """Impact reference x price_impact x (qty / bar volume)^2 against the trader.

    Unknown volume (None, e.g. the fund's liquidations at the mark) or zero volume means no
    impact. The volume share is bounded at 1 so that a sell price stays positive; capping how
    much fills is the `FillModel`'s job, not this model's.
    """

    price_impact: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        _non_negative(self, "price_impact")
        if self.price_impact >= ONE:
            raise InvalidInputError(f"price_impact must be < 1, got {self.price_impact}")

    def fill_price(self, reference: Decimal, amount: Decimal, bar: Bar) -> Decimal:
        volume = bar.volume
        if not volume:
            return reference
        share = min(ONE, abs(amount) / volume)
        return _against(reference, reference * self.price_impact * share * share, amount)
