"""Bars, slices, the strategy's view of the market, and money conversion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import Bar, BarData, InvalidBarError, MarketHistory, Slice
from core.money import format_pct, quantize_weight, to_decimal
from tests.core.helpers import bar, ts


@pytest.mark.parametrize(
    ("prices", "reason"),
    [
        (("10", "11", "9", "0"), "non_positive_price"),
        (("10", "9", "11", "10"), "high_below_low"),
        (("12", "11", "9", "10"), "open_outside_range"),
        (("10", "11", "9", "8"), "close_outside_range"),
        (("nan", "11", "9", "10"), "non_finite"),
        (("10", "inf", "9", "10"), "non_finite"),
    ],
)
def test_invalid_bars_raise_with_reason_code(prices, reason) -> None:
    with pytest.raises(InvalidBarError) as err:
        Bar.of(ts(0), "AAA", *prices, volume=100)
    assert err.value.reason == reason
    assert isinstance(err.value, ValueError)


def test_negative_volume_is_rejected() -> None:
    with pytest.raises(InvalidBarError) as err:
        Bar.of(ts(0), "AAA", 10, 11, 9, 10, -1)
    assert err.value.reason == "negative_volume"


def test_bar_mapping_access_like_the_seed() -> None:
    b = Bar.of(ts(0), "AAA", "10", "11", "9", "10.5", 1000)
    assert b["price"] == b["close"] == Decimal("10.5") == b.price
    assert b["volume"] == 1000
    with pytest.raises(KeyError):
        b["vwap"]


def test_slice_coerces_every_supported_form() -> None:
    b = bar(0, "AAA", "10")
    assert Slice.coerce(ts(0), {"AAA": b})["AAA"] is b
    seed = Slice.coerce(ts(0), {"AAA": {"price": Decimal("10"), "volume": 5}})
    assert seed["AAA"].open == seed["AAA"].close == 10 and seed["AAA"].volume == 5
    ohlc = Slice.coerce(ts(0), {"AAA": {"open": 10, "high": 12, "low": 9, "close": 11}})
    assert ohlc["AAA"].high == 12 and ohlc["AAA"].volume is None
    same = Slice(ts(0), {"AAA": b})
    assert Slice.coerce(ts(0), same) is same


@pytest.mark.parametrize(
    "data",
    [
        [("AAA", 10)],
        {"AAA": 10},
        {"AAA": {"open": 10, "close": 10}},
        {"AAA": {"volume": 10}},
    ],
)
def test_slice_rejects_malformed_data(data) -> None:
    with pytest.raises(ValueError):
        Slice.coerce(ts(0), data)


def test_slice_rejects_bars_of_another_time_or_symbol() -> None:
    with pytest.raises(ValueError, match="in slice"):
        Slice(ts(1), {"AAA": bar(0, "AAA")})
    with pytest.raises(ValueError, match="filed under"):
        Slice(ts(0), {"BBB": bar(0, "AAA")})
    with pytest.raises(ValueError, match="passed for timestamp"):
        Slice.coerce(ts(1), Slice(ts(0), {}))


def test_history_is_bounded_and_skips_missing_bars() -> None:
    history = MarketHistory(max_bars=4)
    for i in range(6):
        bars = {"AAA": bar(i, "AAA", str(10 + i))}
        if i % 2 == 0:
            bars["BBB"] = bar(i, "BBB", str(20 + i))
        history.append(Slice(ts(i), bars))
    view = BarData(Slice(ts(5), {"AAA": bar(5, "AAA", "15")}), history)
    assert view.history("AAA", "price", 3) == [Decimal(13), Decimal(14), Decimal(15)]
    assert view.history("AAA", "close", 4) == [Decimal(12), Decimal(13), Decimal(14), Decimal(15)]
    assert view.history("BBB", "close", 4) == [Decimal(22), Decimal(24)]
    assert view.history("ZZZ", "close", 2) == []
    with pytest.raises(ValueError, match="history length"):
        view.history("AAA", "close", 5)
    with pytest.raises(ValueError, match="unknown bar field"):
        view.history("AAA", "vwap", 2)


def test_bar_data_current_and_membership() -> None:
    view = BarData(Slice(ts(0), {"AAA": bar(0, "AAA", "10")}), MarketHistory(2))
    assert "AAA" in view and "BBB" not in view and view.can_trade("AAA")
    assert view.current("AAA", "volume") == Decimal("1000000")
    assert view.current("BBB") is None
    assert view["AAA"]["price"] == 10 and view.timestamp == ts(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, Decimal("0.1")),
        ("0.25", Decimal("0.25")),
        (3, Decimal(3)),
        (Decimal("1.5"), Decimal("1.5")),
    ],
)
def test_to_decimal_converts_through_shortest_repr(value, expected) -> None:
    assert to_decimal(value) == expected


@pytest.mark.parametrize("value", [True, None, "x", float("nan"), float("inf"), "-inf", [1]])
def test_to_decimal_rejects_non_numbers(value) -> None:
    with pytest.raises(ValueError, match="weight"):
        to_decimal(value, field="weight")


def test_weight_rounding_never_rounds_up_and_pct_format() -> None:
    assert quantize_weight(Decimal("0.12345678919")) == Decimal("0.1234567891")
    assert format_pct(Decimal("0.05")) == "5.00%"
    assert format_pct(-0.0217) == "-2.17%"
