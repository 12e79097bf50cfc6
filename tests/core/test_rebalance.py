"""PortfolioAllocator.rebalance: validate first, decreases then increases, exact conservation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import Ledger, PortfolioAllocator
from core.costs import FixedBasisPoints, PerShare
from core.records import RebalanceTrigger
from tests.core.helpers import market, ts
from tests.core.strategies import BuyAndHold, Idle

M = Decimal("1000000")


def costly(_sid: str) -> Ledger:
    return Ledger(
        commission=PerShare(cost=Decimal("0.005"), min_trade_cost=Decimal("1")),
        slippage=FixedBasisPoints(bps=Decimal("5")),
    )


def invested_fund(**kwargs) -> PortfolioAllocator:
    f = PortfolioAllocator(M, **kwargs)
    f.add_strategy("a", BuyAndHold("AAA", 24000), "0.4")
    f.add_strategy("b", BuyAndHold("BBB", 10000), "0.3")
    f.add_strategy("c", Idle(), "0.2")
    f.execute_bar(ts(0), market(0, AAA="10", BBB="20"))
    f.execute_bar(ts(1), market(1, AAA="10", BBB="20"))
    return f


def snapshot(f: PortfolioAllocator):
    return (
        {
            sid: (a.ledger.cash, dict(a.ledger.positions), a.target_weight)
            for sid, a in f.strategies.items()
        },
        f.reserve.cash,
        len(f.rebalance_history),
    )


@pytest.mark.parametrize(
    ("allocations", "message"),
    [
        ({"a": "0.1", "zzz": "0.1"}, "Unknown strategies: zzz"),
        ({"a": "0.6"}, "the total must be <= 100%"),
        ({"a": "0.1", "b": "-0.1"}, "must be >= 0"),
        ({"a": "0.1", "b": "nan"}, "must be finite"),
        ({"c": "0.9", "a": "0.1"}, "the total must be <= 100%"),
    ],
)
def test_invalid_rebalance_changes_nothing(allocations, message) -> None:
    f = invested_fund()
    before = snapshot(f)
    with pytest.raises(ValueError, match=message):
        f.rebalance(allocations)
    assert snapshot(f) == before


def test_decrease_sells_positions_pro_rata_when_cash_is_short() -> None:
    f = invested_fund(ledger_factory=costly)
    a = f.strategies["a"]
    assert a.ledger.cash < Decimal("300000")
    before = f.total_capital
    record = f.rebalance({"a": "0.1", "c": "0.5"}, reason="shift to c")
    assert a.ledger.positions["AAA"].amount < 24000
    assert record.costs > 0
    assert f.total_capital == before - record.costs
    assert record.transfers["a"] < 0 < record.transfers["c"]
    assert abs(a.current_value - Decimal("0.1") * before) <= record.costs + 1
    assert f.strategies["c"].current_value == f.strategies["c"].ledger.cash
    assert record.weights_before["a"] == pytest.approx(Decimal("0.4"), abs=Decimal("0.001"))
    assert record.targets == {"a": Decimal("0.1"), "c": Decimal("0.5")}


def test_target_zero_liquidates_everything() -> None:
    f = invested_fund(ledger_factory=costly)
    before = f.total_capital
    record = f.rebalance({"a": 0})
    a = f.strategies["a"]
    assert a.ledger.positions == {} and a.ledger.cash == 0 and a.current_value == 0
    assert f.total_capital == before - record.costs


def test_unnamed_strategies_keep_their_money() -> None:
    f = invested_fund()
    b_before = f.strategies["b"].ledger.cash, dict(f.strategies["b"].ledger.positions)
    f.rebalance({"c": "0.25"})
    assert (f.strategies["b"].ledger.cash, dict(f.strategies["b"].ledger.positions)) == b_before
    assert f.strategies["c"].current_value == Decimal("250000.00")


def test_transfers_are_not_returns() -> None:
    f = invested_fund()
    f.rebalance({"a": "0.2", "c": "0.5"})
    f.execute_bar(ts(2), market(2, AAA="10", BBB="20"))
    for alloc in f.strategies.values():
        assert alloc.performance.returns[-1] == 0.0


def test_noise_above_one_from_decimal_division_is_accepted() -> None:
    f = invested_fund()
    weights = {"a": Decimal("0.5") + Decimal("1e-20"), "b": Decimal("0.5"), "c": 0}
    assert sum(weights.values()) > 1
    f.rebalance(weights)
    assert [f.strategies[s].target_weight for s in "abc"] == [Decimal("0.5"), Decimal("0.5"), 0]
    with pytest.raises(ValueError, match="total must be <= 100%"):
        f.rebalance({"a": Decimal("0.5") + Decimal("1e-15"), "b": "0.5"})


def test_reserve_positions_fund_increases() -> None:
    f = invested_fund(ledger_factory=costly)
    f.remove_strategy("c", liquidate=True)
    f.remove_strategy("a", liquidate=False)
    assert "AAA" in f.reserve.positions
    f.add_strategy("d", Idle(), "0.05")
    before = f.total_capital
    record = f.rebalance({"d": "0.6"})
    assert f.total_capital == before - record.costs
    assert f.strategies["d"].current_value > Decimal("0.59") * before
    assert f.reserve.cash >= 0


def test_history_records_each_rebalance() -> None:
    f = invested_fund()
    f.rebalance({"c": "0.1"}, reason="first")
    f.rebalance({"c": "0.2"}, reason="second")
    assert [r.reason for r in f.rebalance_history] == ["first", "second"]
    assert f.rebalance_history[0].ts == ts(1)
    assert f.rebalance_history[1].weights_before["c"] == pytest.approx(Decimal("0.1"))


def test_a_rebalance_records_its_trigger_apart_from_its_reason() -> None:
    f = invested_fund()
    assert (
        f.rebalance({"a": "0.3"}, reason="Initial rebalancing").trigger is RebalanceTrigger.MANUAL
    )
    drift = f.rebalance({"a": "0.35"}, reason="any words", trigger=RebalanceTrigger.DRIFT)
    assert (drift.trigger, drift.reason) == (RebalanceTrigger.DRIFT, "any words")
