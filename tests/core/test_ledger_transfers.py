"""Ledger capital movements: transfers, raising cash by selling, liquidation, moving positions."""

from __future__ import annotations

import pytest

from core.costs import FixedBasisPoints, PerShare, PerTrade
from core.errors import InsufficientFundsError, InvalidInputError
from core.fund_moves import TransferResult
from core.ledger import Ledger
from core.orders import FUND_ORDER_ID, OrderStatus
from tests.core.ledger_support import D, flat, ts

COSTLY = {"commission": PerShare(), "slippage": FixedBasisPoints(D(10))}


def _holding(cash: object = 50, **kw: object) -> Ledger:
    """Cash plus 100 A marked at 10 and 7 B marked at 100 (value 1700), seen on day 1."""
    ledger = Ledger(cash, **kw)  # type: ignore[arg-type]
    ledger.add_position("A", 100, 9, 10)
    ledger.add_position("B", 7, 90, 100)
    ledger.process_slice(flat(1, {"A": 10, "B": 100}))
    return ledger


def test_transfer_in() -> None:
    ledger = Ledger(100)
    assert ledger.transfer_in("50.5") == TransferResult(D("50.5"))
    assert (ledger.cash, ledger.net_flows, ledger.starting_cash) == (D("150.5"), D("50.5"), 100)


@pytest.mark.parametrize("amount", [-1, "-0.01", "nan", float("inf"), "x"])
def test_transfers_reject_invalid_amounts(amount: object) -> None:
    ledger = _holding()
    before = ledger.to_state()
    for move in (ledger.transfer_in, ledger.transfer_out):
        with pytest.raises(InvalidInputError):
            move(amount)  # type: ignore[arg-type]
    assert ledger.to_state() == before


def test_zero_transfers_move_nothing_even_with_an_overdraft() -> None:
    ledger = _holding(cash=-10, allow_negative_cash=True)
    before = ledger.to_state()
    assert ledger.transfer_out(0) == TransferResult(D(0)) == ledger.transfer_in(0)
    assert ledger.to_state() == before


def test_transfer_out_from_cash_sells_nothing() -> None:
    ledger = _holding(cash=500)
    assert ledger.transfer_out(200) == TransferResult(D(200))
    assert ledger.cash == 300 and ledger.net_flows == -200
    assert ledger.positions["A"].amount == 100


def test_transfer_out_sells_pro_rata_rounded_up() -> None:
    ledger = _holding()
    result = ledger.transfer_out(220)  # deficit 170 of 1700: 10 % of each position
    assert [(f.asset, f.amount, f.price) for f in result.fills] == [
        ("A", D(-10), D(10)),
        ("B", D(-1), D(100)),  # 0.7 rounded up
    ]
    assert all(f.order_id == FUND_ORDER_ID and f.ts == ts(1) for f in result.fills)
    assert (result.amount, result.costs) == (220, 0)
    assert ledger.cash == 30 and ledger.portfolio_value == 1750 - 220
    assert (ledger.positions["A"].amount, ledger.positions["B"].amount) == (90, 6)


def test_transfer_out_with_costs_conserves_value_exactly() -> None:
    ledger = _holding(**COSTLY)
    before = ledger.portfolio_value
    result = ledger.transfer_out(901)
    assert ledger.cash >= 0 and result.costs > 0
    assert result.costs == sum(f.commission + f.slippage for f in result.fills)
    assert ledger.portfolio_value == before - 901 - result.costs
    assert ledger.total_commission + ledger.total_slippage == result.costs
    assert len({f.asset for f in result.fills}) == len(result.fills)  # one sale per asset


def test_transfer_out_takes_more_rounds_when_costs_bite() -> None:
    ledger = _holding(cash=0, commission=PerTrade(D(40)))
    result = ledger.transfer_out(170)
    # 10 % of each raises 200 - 80 commission: a further round is needed
    sold = {f.asset: -f.amount for f in result.fills}
    assert sold["A"] > 10 and ledger.cash >= 0
    assert result.costs == 80 and len(result.fills) == 2


def test_transfer_out_can_sell_everything_and_not_a_cent_more() -> None:
    # A: 100 x 9.99 - 1.00 = 998.00; B: 7 x 99.9 - 1.00 = 698.30; plus 50 cash
    with pytest.raises(InsufficientFundsError):
        _holding(**COSTLY).transfer_out(D("1746.31"))
    ledger = _holding(**COSTLY)
    ledger.transfer_out(D("1746.30"))
    assert not ledger.positions and ledger.cash == 0


def test_insufficient_funds_changes_nothing() -> None:
    ledger = _holding(**COSTLY)
    ledger.order("A", -5)
    before = ledger.to_state()
    with pytest.raises(InsufficientFundsError):
        ledger.transfer_out(1750)  # the full mark value: costs make it unreachable
    assert ledger.to_state() == before


def test_transfer_out_also_covers_an_overdraft() -> None:
    ledger = _holding(cash=-10, allow_negative_cash=True)
    ledger.transfer_out(160)  # 170 to raise: 10 % of each position
    assert ledger.cash == 30 and ledger.positions["A"].amount == 90


def test_transfer_out_ignores_shorts_and_keeps_orders() -> None:
    ledger = _holding(allow_short=True)
    ledger.add_position("C", -10, 50, 50)
    order = ledger.order("A", -1)
    result = ledger.transfer_out(220)
    assert {f.asset for f in result.fills} == {"A", "B"}
    assert ledger.positions["C"].amount == -10 and order.is_open


def test_liquidate_closes_everything_at_the_mark_with_costs() -> None:
    ledger = _holding(cash=5000, allow_short=True, **COSTLY)
    ledger.add_position("C", -10, 50, 50)
    order = ledger.order("A", 1)
    before = ledger.portfolio_value
    result = ledger.liquidate()
    assert (order.status, order.reason) == (OrderStatus.CANCELLED, "liquidated")
    assert not ledger.positions and ledger.open_orders == []
    assert result.amount == 0
    assert sorted((f.asset, f.amount) for f in result.fills) == [
        ("A", D(-100)),
        ("B", D(-7)),
        ("C", D(10)),
    ]
    assert result.costs == sum(f.commission + f.slippage for f in result.fills) > 0
    assert ledger.portfolio_value == ledger.cash == before - result.costs


def test_release_and_take_positions_move_value_without_cash() -> None:
    strategy = _holding()
    reserve = Ledger(1000)
    reserve.add_position("A", 50, 8, 10)
    value = strategy.portfolio_value + reserve.portfolio_value
    released = strategy.release_positions()
    assert [p.asset for p in released] == ["A", "B"] and not strategy.positions
    assert strategy.cash == 50 and strategy.portfolio_value == 50
    reserve.take_positions(released)
    assert strategy.portfolio_value + reserve.portfolio_value == value
    merged = reserve.positions["A"]
    assert (merged.amount, merged.cost_basis) == (150, D("26") / 3)  # (400 + 900) / 150


def test_add_position_needs_the_same_mark() -> None:
    ledger = _holding()
    with pytest.raises(InvalidInputError, match="marked at"):
        ledger.add_position("A", 5, 10, 11)
    with pytest.raises(InvalidInputError):
        ledger.add_position("A", 0, 10, 10)
    with pytest.raises(InvalidInputError):
        ledger.add_position("A", 1, 0, 10)
    assert ledger.positions["A"].amount == 100
