"""The fill model: trigger rules, fill prices, gaps, the volume cap and lots."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import pytest

from core.costs import FixedBasisPoints, NoSlippage
from core.errors import InvalidInputError
from core.fills import FillModel, Match
from core.money import ONE
from core.orders import Order
from tests.core.ledger_support import D, bar, market

NO_SLIP = NoSlippage()


def _order(amount: int, limit: str | None = None, stop: str | None = None) -> Order:
    return Order(
        1,
        "A",
        D(amount),
        None if limit is None else D(limit),
        None if stop is None else D(stop),
    )


def _price(order: Order, o: str, h: str, lo: str, c: str) -> Decimal | None:
    return FillModel().reference_price(order, bar(1, "A", o, h, lo, c))


def test_market_orders_fill_at_the_open() -> None:
    assert _price(_order(10), "100", "105", "95", "101") == D(100)
    assert _price(_order(-10), "100", "105", "95", "101") == D(100)


@pytest.mark.parametrize(
    ("bar_ohlc", "expected"),
    [
        (("100", "101", "99", "100"), None),  # low 99 never reaches 98
        (("100", "101", "97", "99"), D(98)),  # trades through: at the limit
        (("96", "97", "95", "96"), D(96)),  # gaps below: at the open
    ],
)
def test_limit_buy(bar_ohlc: tuple[str, str, str, str], expected: Decimal | None) -> None:
    assert _price(_order(10, limit="98"), *bar_ohlc) == expected


@pytest.mark.parametrize(
    ("bar_ohlc", "expected"),
    [
        (("100", "101", "99", "100"), None),
        (("100", "103", "99", "101"), D(102)),
        (("104", "105", "103", "104"), D(104)),  # gaps above: at the open
    ],
)
def test_limit_sell(bar_ohlc: tuple[str, str, str, str], expected: Decimal | None) -> None:
    assert _price(_order(-10, limit="102"), *bar_ohlc) == expected


@pytest.mark.parametrize(
    ("bar_ohlc", "expected"),
    [
        (("100", "101", "99", "100"), None),
        (("100", "106", "99", "104"), D(105)),  # crosses the stop: at the stop
        (("107", "108", "106", "107"), D(107)),  # gaps through: at the open
    ],
)
def test_stop_buy(bar_ohlc: tuple[str, str, str, str], expected: Decimal | None) -> None:
    order = _order(10, stop="105")
    assert _price(order, *bar_ohlc) == expected
    assert order.stop_triggered is (expected is not None)


@pytest.mark.parametrize(
    ("bar_ohlc", "expected"),
    [
        (("100", "101", "96", "100"), None),
        (("100", "101", "94", "96"), D(95)),
        (("93", "94", "92", "93"), D(93)),
    ],
)
def test_stop_sell(bar_ohlc: tuple[str, str, str, str], expected: Decimal | None) -> None:
    order = _order(-10, stop="95")
    assert _price(order, *bar_ohlc) == expected
    assert order.stop_triggered is (expected is not None)


def test_stop_limit_triggered_within_the_limit_fills_at_the_stop() -> None:
    order = _order(10, limit="106", stop="105")
    assert _price(order, "100", "107", "99", "106") == D(105)


def test_stop_limit_with_limit_below_stop_needs_the_bar_to_come_back() -> None:
    order = _order(10, limit="103", stop="105")
    assert _price(order, "104", "107", "104", "106") is None
    assert order.stop_triggered
    order = _order(10, limit="103", stop="105")
    assert _price(order, "104", "107", "102", "104") == D(103)


def test_stop_limit_remembers_its_trigger_across_bars() -> None:
    order = _order(-10, limit="96", stop="95")
    # triggers (low 94 <= 95) but the bar never trades back up to the limit 96
    assert _price(order, "95.5", "95.8", "94", "95") is None
    assert order.stop_triggered
    # next bar: a plain limit sell at 96; the bar never goes below the stop again
    assert _price(order, "97", "98", "96.5", "97") == D(97)


def test_untriggered_stop_limit_ignores_the_limit() -> None:
    order = _order(10, limit="101", stop="105")
    assert _price(order, "100", "101", "99", "100") is None
    assert not order.stop_triggered


def test_volume_cap_rounds_down_to_lots() -> None:
    model = FillModel()
    assert model.volume_cap(bar(1, "A", 10, volume=1000)) == D(25)
    assert model.volume_cap(bar(1, "A", 10, volume=1039)) == D(25)
    assert model.volume_cap(bar(1, "A", 10, volume=0)) == 0
    assert model.volume_cap(bar(1, "A", 10)) is None
    assert FillModel(volume_limit=None).volume_cap(bar(1, "A", 10, volume=5)) is None


def test_match_caps_the_quantity_and_keeps_the_sign() -> None:
    model = FillModel()
    b = bar(1, "A", 10, volume=1000)
    assert model.match(_order(-100), b, NO_SLIP, D(25)) == Match(D(-25), D(10), D(10))
    assert model.match(_order(-100), b, NO_SLIP, None) == Match(D(-100), D(10), D(10))
    assert model.match(_order(-100), b, NO_SLIP, D(0)) is None


def test_match_fills_only_the_remaining_quantity() -> None:
    order = _order(100)
    order.filled = D(90)
    match = FillModel().match(order, bar(1, "A", 10), NO_SLIP, D(25))
    assert match is not None and match.amount == D(10)


def test_slippage_never_takes_a_limit_fill_beyond_the_limit() -> None:
    model = FillModel()
    slip = FixedBasisPoints(D(100))  # 1 %
    buy = model.match(_order(10, limit="100.5"), bar(1, "A", 100), slip, None)
    assert buy == Match(D(10), D("100.5"), D(100))
    sell = model.match(_order(-10, limit="99.5"), bar(1, "A", 100), slip, None)
    assert sell == Match(D(-10), D("99.5"), D(100))


def test_slippage_applies_to_stop_fills() -> None:
    match = FillModel().match(
        _order(10, stop="105"), bar(1, "A", 100, 106, 99, 104), FixedBasisPoints(D(100)), None
    )
    assert match == Match(D(10), D("106.05"), D(105))


def test_fill_orders_share_the_cap_in_placement_order() -> None:
    orders = [Order(i, "A", D(20)) for i in (1, 2, 3)] + [Order(4, "B", D(20))]
    taken: list[tuple[int, Decimal]] = []

    def execute(order: Order, match: Match) -> bool:
        taken.append((order.id, match.amount))
        return True

    m = market(1, bar(1, "A", 10, volume=1000), bar(1, "B", 10, volume=1000))
    FillModel().fill_orders(orders, m, NO_SLIP, execute)
    assert taken == [(1, D(20)), (2, D(5)), (4, D(20))]


def test_fill_orders_leave_refused_volume_to_the_next_order() -> None:
    orders = [Order(1, "A", D(20)), Order(2, "A", D(20))]
    taken: list[tuple[int, Decimal]] = []

    def execute(order: Order, match: Match) -> bool:
        taken.append((order.id, match.amount))
        return order.id != 1

    FillModel().fill_orders(orders, market(1, bar(1, "A", 10, volume=1000)), NO_SLIP, execute)
    assert taken == [(1, D(20)), (2, D(20))]


def test_fill_orders_skip_assets_without_a_bar() -> None:
    seen: list[int] = []
    FillModel().fill_orders(
        [Order(1, "A", D(5))],
        market(1, bar(1, "B", 10)),
        NO_SLIP,
        lambda order, match: seen.append(order.id) is None,
    )
    assert seen == []


def test_lots() -> None:
    model = FillModel(lot_size=D("0.0001"))
    assert model.lots(D("1.23456")) == D("1.2345")
    assert model.lots(D("-1.23456")) == D("-1.2345")
    assert model.is_lot_multiple(D("0.0003"))
    assert not model.is_lot_multiple(D("0.00035"))
    assert FillModel().lots(D("7.9")) == D(7)


@pytest.mark.parametrize(
    "amount",
    ["7.9", "-7.9", "250000.000", "2.5E+5", "1E+30", "-0.5", "0", "0.000", "1E-30", "9" * 28],
)
@pytest.mark.parametrize("rounding", [ROUND_DOWN, ROUND_CEILING, ROUND_HALF_EVEN])
def test_whole_share_lots_keep_the_digits_of_the_general_rule(amount: str, rounding: str) -> None:
    """The default lot (the `ONE` object) skips `/ 1` and `* 1`: the same value and exponent."""
    general = (D(amount) / ONE).to_integral_value(rounding=rounding) * ONE
    shortcut = FillModel().lots(D(amount), rounding)
    assert FillModel().lot_size is ONE
    assert (str(shortcut), shortcut.is_signed()) == (str(general), general.is_signed())
    other_one = FillModel(lot_size=D("1.0"))  # equal to ONE, other digits: the general rule
    assert other_one.lot_size is not ONE
    assert other_one.lots(D(amount), rounding) == general
    assert FillModel(lot_size=D("1")).lot_size is ONE  # another object, the same digits
    assert FillModel(lot_size=1).lot_size is ONE


@pytest.mark.parametrize(
    "kwargs",
    [{"volume_limit": D(0)}, {"volume_limit": D("1.1")}, {"lot_size": D(0)}, {"lot_size": "x"}],
)
def test_fill_model_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        FillModel(**kwargs)  # type: ignore[arg-type]


def test_plan_sales_sells_the_same_fraction_rounded_up() -> None:
    holdings = {"A": (D(100), D(10)), "B": (D(7), D(100))}

    def proceeds(sales: dict[str, Decimal]) -> Decimal:
        return sum((q * holdings[a][1] for a, q in sales.items()), D(0))

    # 10 % of 1700 = 170: A 10 shares (100), B ceil(0.7) = 1 share (100)
    plan = FillModel().plan_sales(D(170), holdings, proceeds)  # type: ignore[arg-type]
    assert plan == {"A": D(10), "B": D(1)}
    assert FillModel().plan_sales(D(1701), holdings, proceeds) is None  # type: ignore[arg-type]
