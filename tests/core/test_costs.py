"""Commission and slippage models."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.costs import (
    BasisPoints,
    FixedBasisPoints,
    NoCommission,
    NoSlippage,
    PerShare,
    PerTrade,
    VolumeShareSlippage,
)
from core.errors import InvalidInputError
from core.orders import Order
from tests.core.ledger_support import D, bar


def _order_after(filled: str, commission: str, amount: str = "1000") -> Order:
    return Order(1, "A", D(amount), filled=D(filled), commission=D(commission))


def test_no_commission_is_zero() -> None:
    assert NoCommission().commission(D(500), D("12.34")) == 0


def test_per_share_above_minimum() -> None:
    assert PerShare().commission(D(1000), D(10)) == D("5.00")


def test_per_share_minimum_applies_to_a_small_order() -> None:
    assert PerShare().commission(D(100), D(10)) == D("1.00")


def test_per_share_sign_of_amount_is_ignored() -> None:
    assert PerShare().commission(D(-1000), D(10)) == D("5.00")


def test_per_share_minimum_charged_once_across_partial_fills() -> None:
    model = PerShare()
    order = Order(1, "A", D(1000))
    charged = []
    for qty in ("100", "100", "800"):
        fee = model.commission(D(qty), D(10), order=order)
        charged.append(fee)
        order.filled += D(qty)
        order.commission += fee
    assert charged == [D("1.00"), D("0.00"), D("4.00")]
    assert sum(charged) == model.commission(D(1000), D(10))


def test_per_share_rounds_half_even_to_cents() -> None:
    model = PerShare(cost=D("0.005"), min_trade_cost=D(0))
    assert model.commission(D(1), D(10)) == D("0.00")
    assert model.commission(D(3), D(10)) == D("0.02")


def test_per_share_never_refunds_what_another_model_charged() -> None:
    assert PerShare().commission(D(10), D(10), order=_order_after("10", "9.99")) == 0


def test_per_trade_charged_on_first_fill_only() -> None:
    model = PerTrade(D("4.95"))
    assert model.commission(D(10), D(10), order=Order(1, "A", D(100))) == D("4.95")
    assert model.commission(D(10), D(10), order=_order_after("10", "4.95", "100")) == 0
    assert model.commission(D(10), D(10)) == D("4.95")


def test_basis_points_of_traded_value_half_even() -> None:
    # 100 x 123.45 x 10 bps = 12.345 -> 12.34 (half-even)
    assert BasisPoints(D(10)).commission(D(100), D("123.45")) == D("12.34")
    assert BasisPoints(D(10)).commission(D(-100), D("123.55")) == D("12.36")


def test_commission_parameters_are_validated_and_converted() -> None:
    with pytest.raises(InvalidInputError):
        PerShare(cost=D(-1))
    with pytest.raises(InvalidInputError):
        PerTrade(D("NaN"))
    assert PerShare(cost="0.01", min_trade_cost=0).cost == D("0.01")  # type: ignore[arg-type]


def test_no_slippage_returns_the_reference_unchanged() -> None:
    reference = D("100.123456789")
    assert NoSlippage().fill_price(reference, D(5), bar(0, "A", 100)) is reference


def test_fixed_basis_points_moves_against_the_trader() -> None:
    model = FixedBasisPoints()
    b = bar(0, "A", 100)
    assert model.fill_price(D(100), D(10), b) == D("100.05")
    assert model.fill_price(D(100), D(-10), b) == D("99.95")


def test_fixed_basis_points_rounds_against_the_trader() -> None:
    model = FixedBasisPoints(D(0))
    b = bar(0, "A", 100)
    assert model.fill_price(D("100.123456781"), D(1), b) == D("100.12345679")
    assert model.fill_price(D("100.123456789"), D(-1), b) == D("100.12345678")


def test_fixed_basis_points_validation() -> None:
    with pytest.raises(InvalidInputError):
        FixedBasisPoints(D(10_000))


def test_volume_share_impact_is_quadratic_in_share() -> None:
    model = VolumeShareSlippage()
    b = bar(0, "A", 100, volume=1000)
    # 100 x 0.1 x (100 / 1000)^2 = 0.1
    assert model.fill_price(D(100), D(100), b) == D("100.1")
    assert model.fill_price(D(100), D(-100), b) == D("99.9")
    # half the share, a quarter of the impact
    assert model.fill_price(D(100), D(50), b) == D("100.025")


def test_volume_share_without_volume_has_no_impact() -> None:
    model = VolumeShareSlippage()
    assert model.fill_price(D(100), D(100), bar(0, "A", 100)) == D(100)
    assert model.fill_price(D(100), D(100), bar(0, "A", 100, volume=0)) == D(100)


def test_volume_share_bounds_the_share_at_one_but_does_not_cap_quantity() -> None:
    model = VolumeShareSlippage(D("0.5"))
    assert model.fill_price(D(100), D(-5000), bar(0, "A", 100, volume=1000)) == D(50)


def test_volume_share_validation() -> None:
    with pytest.raises(InvalidInputError):
        VolumeShareSlippage(D(1))
    with pytest.raises(InvalidInputError):
        VolumeShareSlippage(D(-1))


def test_models_are_values() -> None:
    assert PerShare() == PerShare(Decimal("0.005"), Decimal(1))
    assert FixedBasisPoints(D(5)) != FixedBasisPoints(D(6))
