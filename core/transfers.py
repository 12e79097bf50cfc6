"""Capital leaving a strategy's ledger: the one withdrawal rule every driver of a fund shares.

A withdrawal of an amount sells long positions pro rata at the mark when cash is short
(`Ledger.transfer_out`). When even that cannot raise the amount after costs, or when the fund
asks for everything (`amount=None`), the ledger is emptied instead: its orders are cancelled,
every position is closed at the mark and all of its cash moves out.
"""

from __future__ import annotations

from decimal import Decimal

from core.errors import InsufficientFundsError
from core.ledger import Ledger
from core.money import ZERO


def withdraw_from(ledger: Ledger, amount: Decimal | None) -> tuple[Decimal, Decimal]:
    """Take `amount` (None: everything) out of `ledger`; return (cash moved, costs).

    Costs are the commission and slippage of the forced sales. The ledger's value drops by
    exactly moved + costs. A ledger whose cash is not positive once liquidated moves nothing
    (its debt stays where it is).
    """
    if amount is not None:
        try:
            result = ledger.transfer_out(amount)
        except InsufficientFundsError:
            pass  # costs exceed what is left: withdraw everything instead
        else:
            return result.amount, result.costs
    ledger.cancel_all_orders("strategy defunded")
    costs = ledger.liquidate().costs
    moved = ledger.cash
    if moved <= ZERO:
        return ZERO, costs
    ledger.transfer_out(moved)
    return moved, costs
