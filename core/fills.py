"""When, at what price and how much an open order fills against one bar.

Orders placed while handling slice t fill against the bars of slice t+1:

- market orders at the bar's open;
- limit buys when low <= limit, at min(open, limit); limit sells when high >= limit, at
  max(open, limit) — at the open when the bar gaps through the limit;
- stop buys trigger when high >= stop and fill at max(open, stop); stop sells when
  low <= stop, at min(open, stop). A stop-limit, once triggered (remembered across bars in
  `Order.stop_triggered`), is a limit order; triggered inside a bar, it fills there at the
  trigger price if that is within the limit, else at the limit if the bar reaches it.

The slippage model moves every fill price against the trader, but never beyond an order's
limit. At most `volume_limit` x bar volume, rounded down to whole lots, fills per bar and
asset; orders for one asset share it in placement order, and the remainder stays open. Unknown
volume (None) means no cap; zero volume means no fill.

Trades the fund forces on a ledger (raising cash for a withdrawal, liquidation) execute at the
mark through the slippage model with no volume cap: the bar is a flat one at the mark with
unknown volume.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import NamedTuple, TypeVar

from core.costs import NoSlippage, SlippageModel
from core.errors import InvalidInputError
from core.market import Bar, Slice
from core.money import ONE, ZERO, to_decimal
from core.orders import Order, new_record

SALE_ROUNDS = 4
"""Pro-rata rounds `FillModel.plan_sales` tries before selling everything."""
_NO_TS = datetime(1970, 1, 1, tzinfo=UTC)
_WHOLE_SHARE = ONE.as_tuple()
_Booked = TypeVar("_Booked")


class Match(NamedTuple):
    """What a bar gives an order: signed `amount` at `price` (after slippage), and the
    `reference` price before slippage. (A NamedTuple: one is built for every fill.)"""

    amount: Decimal
    price: Decimal
    reference: Decimal


class FillModel:
    """Fill rules with a per-bar volume cap; `lot_size` is the smallest tradable quantity.

    `volume_limit=None` disables the volume cap.
    """

    __slots__ = ("volume_limit", "lot_size")

    def __init__(
        self,
        volume_limit: Decimal | None = Decimal("0.025"),
        lot_size: Decimal = ONE,
    ) -> None:
        if volume_limit is not None:
            volume_limit = to_decimal(volume_limit, field="volume_limit")
            if not ZERO < volume_limit <= ONE:
                raise InvalidInputError(f"volume_limit must be in (0, 1], got {volume_limit}")
        lot_size = to_decimal(lot_size, field="lot_size")
        if lot_size <= 0:
            raise InvalidInputError(f"lot_size must be > 0, got {lot_size}")
        if lot_size.as_tuple() == _WHOLE_SHARE:  # 1 with 1's digits: the same Decimal as ONE
            lot_size = ONE  # so that `lots` takes its whole-share path (config gives "1")
        self.volume_limit = volume_limit
        self.lot_size = lot_size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FillModel):
            return NotImplemented
        return (self.volume_limit, self.lot_size) == (other.volume_limit, other.lot_size)

    def __hash__(self) -> int:
        return hash((self.volume_limit, self.lot_size))

    def __repr__(self) -> str:
        return f"FillModel(volume_limit={self.volume_limit!r}, lot_size={self.lot_size!r})"

    def lots(self, amount: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
        """`amount` rounded to a multiple of the lot size (toward zero by default)."""
        lot = self.lot_size
        if lot is ONE:  # whole shares, the default: the same digits without / 1 and * 1
            return amount.to_integral_value(rounding=rounding)
        return (amount / lot).to_integral_value(rounding=rounding) * lot

    def is_lot_multiple(self, amount: Decimal) -> bool:
        return amount % self.lot_size == 0

    def volume_cap(self, bar: Bar) -> Decimal | None:
        """The most one bar can fill for its asset, or None for no cap."""
        if self.volume_limit is None or bar.volume is None:
            return None
        return self.lots(bar.volume * self.volume_limit)

    def reference_price(self, order: Order, bar: Bar) -> Decimal | None:
        """The price before slippage at which `order` fills in `bar`, or None if it does not.

        Sets `order.stop_triggered` when the bar crosses the order's stop price.
        """
        buy = order.amount > 0
        stop = order.stop_price
        if stop is not None and not order.stop_triggered:
            if buy:
                if bar.high < stop:
                    return None
                entry = max(bar.open, stop)
            else:
                if bar.low > stop:
                    return None
                entry = min(bar.open, stop)
            order.stop_triggered = True
        else:
            entry = bar.open
        limit = order.limit_price
        if limit is None:
            return entry
        if buy:
            if entry <= limit:
                return entry
            return limit if bar.low <= limit else None
        if entry >= limit:
            return entry
        return limit if bar.high >= limit else None

    def match(
        self, order: Order, bar: Bar, slippage: SlippageModel, available: Decimal | None
    ) -> Match | None:
        """How much of `order` fills in `bar` and at what price, with at most `available`
        (None: no cap) left under the volume cap. None when nothing fills."""
        if order.limit_price is None and order.stop_price is None:
            reference = bar.open  # a market order (`reference_price`, without the call)
        else:
            priced = self.reference_price(order, bar)
            if priced is None:
                return None
            reference = priced
        remaining = order.amount - order.filled
        qty = abs(remaining)
        if available is not None and available < qty:
            qty = available
        if qty <= 0:
            return None
        amount = qty if remaining > 0 else -qty
        if type(slippage) is NoSlippage:  # the default: the call would return `reference`
            price = reference
        else:
            price = slippage.fill_price(reference, amount, bar)
        limit = order.limit_price
        if limit is not None:
            price = min(price, limit) if amount > 0 else max(price, limit)
        return new_record(Match, (amount, price, reference))  # see core.orders.new_record

    def fill_orders(
        self,
        orders: Iterable[Order],
        market: Slice,
        slippage: SlippageModel,
        execute: Callable[[Order, Match], _Booked | None],
    ) -> list[_Booked]:
        """Offer each order, in placement order, what its asset's bar in `market` gives it.

        `execute` books a match and returns what it booked (a fill), or a false value when
        it refused it (e.g. for want of cash): that volume stays available to the next
        order for the asset. Returns what was booked, in order.
        """
        booked: list[_Booked] = []
        available: dict[str, Decimal | None] = {}
        bars = market._bars
        for order in orders:
            asset = order.asset
            bar = bars.get(asset)
            if bar is None:
                continue
            if asset in available:
                cap = available[asset]
            else:
                cap = available[asset] = self.volume_cap(bar)
            match = self.match(order, bar, slippage, cap)
            if match is not None:
                result = execute(order, match)
                if result:
                    booked.append(result)
                    if cap is not None:
                        available[asset] = cap - abs(match.amount)
        return booked

    def plan_sales(
        self,
        need: Decimal,
        holdings: Mapping[str, tuple[Decimal, Decimal]],
        proceeds: Callable[[Mapping[str, Decimal]], Decimal],
    ) -> dict[str, Decimal] | None:
        """Quantities of long `holdings` (asset -> (amount, mark)) to sell so that
        `proceeds(sales)`, the cash they bring after costs, covers `need`.

        Each round sells the same fraction of every position, rounded up to lots, that
        covers the deficit at the mark; costs leave a smaller deficit for the next round.
        After `SALE_ROUNDS` rounds everything is sold. None when even that is not enough.
        """
        sales = dict.fromkeys(holdings, ZERO)
        for _ in range(SALE_ROUNDS):
            deficit = need - proceeds(sales)
            if deficit <= 0:
                return {asset: qty for asset, qty in sales.items() if qty}
            left = sum(((qty - sales[a]) * mark for a, (qty, mark) in holdings.items()), ZERO)
            if left <= 0:
                break
            fraction = min(deficit / left, ONE)
            for asset, (qty, _) in holdings.items():
                rest = qty - sales[asset]
                sales[asset] += min(rest, self.lots(rest * fraction, ROUND_CEILING))
        everything = {asset: qty for asset, (qty, _) in holdings.items()}
        return everything if proceeds(everything) >= need else None


def forced_price(
    asset: str, amount: Decimal, mark: Decimal, ts: datetime | None, slippage: SlippageModel
) -> Decimal:
    """Price of a trade of `amount` the fund forces at the mark `mark`."""
    bar = Bar(ts or _NO_TS, asset, mark, mark, mark, mark)
    return slippage.fill_price(mark, amount, bar)
