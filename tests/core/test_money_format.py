"""How amounts are written: `format_amount` for people, `decimal_string` for JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInputError
from core.money import decimal_string, format_amount, format_pct


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0"), "0.00"),
        (Decimal("5.820000"), "5.82"),
        (Decimal("0E-10"), "0.00"),
        (Decimal("1E+3"), "1,000.00"),
        (Decimal("2676392.405"), "2,676,392.40"),  # half-even
        (Decimal("2676392.415"), "2,676,392.42"),
        (Decimal("-1234567.8"), "-1,234,567.80"),
        (Decimal("-0.004"), "0.00"),  # no '-0.00'
        (12.5, "12.50"),
    ],
)
def test_format_amount_writes_cents_with_thousands_separators(
    amount: Decimal | float, text: str
) -> None:
    assert format_amount(amount) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0E-10"), "0.0000000000"),
        (Decimal("-0E-10"), "0.0000000000"),
        (Decimal("1E+3"), "1000"),
        (Decimal("5.820000"), "5.820000"),
        (Decimal("1E-30"), "0.000000000000000000000000000001"),
        (Decimal("0.2375000000"), "0.2375000000"),
        (1e-05, "0.00001"),
        (2.0000000000000004, "2.0000000000000004"),
        (1e22, "10000000000000000000000"),
        (-0.0, "0.0"),
        (7, "7"),
    ],
)
def test_decimal_string_is_exact_and_never_uses_an_exponent(
    value: Decimal | float | int, text: str
) -> None:
    assert decimal_string(value) == text


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_string_round_trips_every_finite_decimal(value: Decimal) -> None:
    text = decimal_string(value)
    assert "e" not in text.lower()
    assert Decimal(text) == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_decimal_string_round_trips_every_finite_float(value: float) -> None:
    text = decimal_string(value)
    assert "e" not in text.lower()
    assert float(text) == value


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("-Infinity"), float("inf"), float("nan"), True]
)
def test_decimal_string_refuses_what_json_cannot_carry(value: object) -> None:
    with pytest.raises(InvalidInputError):
        decimal_string(value)  # type: ignore[arg-type]


def test_percentages_have_two_places() -> None:
    assert format_pct(Decimal("0.05")) == "5.00%"
    assert format_pct(2.6014023456789) == "260.14%"
