"""Funding a rebalance's deposits from the reserve, shrunk to what it holds when it is short.

Used by both drivers (`PortfolioAllocator` and the daemon's `FundEngine`) after the
withdrawals of a `RebalancePlan` have been made.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from core.errors import InsufficientFundsError
from core.ledger import Ledger
from core.money import ZERO, quantize_cash


def fund_deposits(
    reserve: Ledger, deposits: tuple[tuple[str, Decimal], ...]
) -> tuple[list[tuple[str, Decimal]], Decimal]:
    """Take a plan's deposits out of the reserve; return (deposits to make, costs).

    When the reserve holds positions and selling them cannot raise the full amount after
    costs, it is liquidated and the deposits shrink pro rata to the cash it has.
    """
    needed = sum((amount for _, amount in deposits), ZERO)
    if needed == ZERO:
        return [], ZERO
    try:
        return list(deposits), reserve.transfer_out(needed).costs
    except InsufficientFundsError:
        costs = reserve.liquidate().costs
    scaled = scale_deposits(deposits, reserve.cash)
    total = sum((amount for _, amount in scaled), ZERO)
    if total > ZERO:
        reserve.transfer_out(total)
    return scaled, costs


def scale_deposits(
    deposits: tuple[tuple[str, Decimal], ...], available: Decimal
) -> list[tuple[str, Decimal]]:
    """Shrink deposits pro rata (rounded down to cents) so they fit in `available` cash."""
    needed = sum((amount for _, amount in deposits), ZERO)
    if needed <= available:
        return list(deposits)
    if available <= ZERO:
        return []
    ratio = available / needed
    scaled = [(sid, quantize_cash(amount * ratio, ROUND_DOWN)) for sid, amount in deposits]
    return [(sid, amount) for sid, amount in scaled if amount > ZERO]
