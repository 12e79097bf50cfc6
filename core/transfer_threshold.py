"""The smallest rebalancing transfer worth making: `min_transfer_pct` of the fund's value.

A rebalance planned with a threshold skips every transfer smaller than
`min_transfer_pct × fund value` (the value before the rebalance): the strategy keeps its
capital where it is and the reserve keeps the difference, so the fund's value is exact either
way. A target weight of 0 is never skipped: it asks for the strategy to be emptied, and
skipping a small remainder would strand capital in a strategy meant to hold none.
"""

from __future__ import annotations

from decimal import Decimal

from core.errors import InvalidInputError
from core.money import ZERO, to_decimal


def check_min_transfer_pct(value: object) -> Decimal | None:
    """`value` as a Decimal fraction in [0, 1], or None (no threshold)."""
    if value is None:
        return None
    pct = to_decimal(value, field="min_transfer_pct")
    if not ZERO <= pct <= 1:
        raise InvalidInputError(f"min_transfer_pct must be in [0, 1], got {value!r}")
    return pct


def is_material_transfer(
    amount: Decimal, fund_value: Decimal, min_transfer_pct: Decimal | None
) -> bool:
    """Whether a transfer of `amount` (either sign) is large enough to make."""
    if amount == ZERO:
        return False
    if min_transfer_pct is None:
        return True
    return abs(amount) >= min_transfer_pct * abs(fund_value)
