"""`withdraw_from`: an amount when it can be raised, everything when it cannot or is asked."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.costs import FixedBasisPoints, PerShare
from core.ledger import Ledger
from core.orders import OrderStatus
from core.transfers import withdraw_from
from tests.core.ledger_support import D, flat

COSTLY = {"commission": PerShare(), "slippage": FixedBasisPoints(D(10))}


def _holding(cash: object = 50, **kw: object) -> Ledger:
    """Cash plus 100 A marked at 10 and 7 B marked at 100, seen on day 1, one order open."""
    ledger = Ledger(cash, **kw)  # type: ignore[arg-type]
    ledger.add_position("A", 100, 9, 10)
    ledger.add_position("B", 7, 90, 100)
    ledger.process_slice(flat(1, {"A": 10, "B": 100}))
    ledger.order("A", 5)
    return ledger


def _value_drops_by(ledger: Ledger, before: Decimal, moved: Decimal, costs: Decimal) -> None:
    assert ledger.portfolio_value == before - moved - costs


def test_an_amount_covered_by_cash_moves_it_and_sells_nothing() -> None:
    ledger = _holding(cash=500, **COSTLY)
    before = ledger.portfolio_value
    assert withdraw_from(ledger, D(200)) == (D(200), D(0))
    _value_drops_by(ledger, before, D(200), D(0))
    assert len(ledger.open_orders) == 1  # orders stay open


def test_an_amount_beyond_cash_sells_with_costs() -> None:
    ledger = _holding(**COSTLY)
    before = ledger.portfolio_value
    moved, costs = withdraw_from(ledger, D(500))
    assert moved == D(500) and costs > 0
    _value_drops_by(ledger, before, moved, costs)
    assert ledger.positions and ledger.cash >= 0


def test_an_amount_that_cannot_be_raised_withdraws_everything() -> None:
    ledger = _holding(**COSTLY)
    before = ledger.portfolio_value
    moved, costs = withdraw_from(ledger, before)  # the value itself: costs make it too much
    assert 0 < moved < before and costs > 0
    _value_drops_by(ledger, before, moved, costs)
    assert not ledger.positions and ledger.cash == 0 and not ledger.open_orders


def test_none_cancels_orders_closes_positions_and_moves_all_cash() -> None:
    ledger = _holding()
    order = ledger.open_orders[0]
    assert withdraw_from(ledger, None) == (D(1750), D(0))
    assert ledger.portfolio_value == 0 and not ledger.positions
    assert order.status is OrderStatus.CANCELLED and order.reason == "strategy defunded"


def test_an_empty_ledger_moves_nothing() -> None:
    assert withdraw_from(Ledger(), None) == (D(0), D(0))
    assert withdraw_from(Ledger(), D(0)) == (D(0), D(0))


@pytest.mark.parametrize("amount", [None, D(5000)])
def test_a_ledger_in_debt_after_liquidation_moves_nothing(amount: Decimal | None) -> None:
    ledger = _holding(cash=-2000, allow_negative_cash=True, **COSTLY)
    before = ledger.portfolio_value
    moved, costs = withdraw_from(ledger, amount)
    assert moved == 0 and costs > 0
    _value_drops_by(ledger, before, moved, costs)
    assert not ledger.positions and ledger.cash < 0
