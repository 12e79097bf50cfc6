"""PortfolioAllocator: funding, the bar loop, lifecycle, isolation and metrics."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from core import Ledger, PortfolioAllocator, StrategyState
from core.costs import PerShare
from core.market import Slice
from tests.core.helpers import bar, market, ts
from tests.core.strategies import BuyAndHold, Flaky, Idle, LimitBuyer

M = Decimal("1000000")


def fund(**kwargs) -> PortfolioAllocator:
    return PortfolioAllocator(M, "test", **kwargs)


@pytest.mark.parametrize("capital", [0, -5, "nan", "abc", None])
def test_rejects_bad_capital(capital) -> None:
    with pytest.raises(ValueError):
        PortfolioAllocator(capital)


@pytest.mark.parametrize(
    ("pct", "expected"),
    [
        (0.1, Decimal("100000.00")),
        ("0.25", Decimal("250000.00")),
        (Decimal("0.3"), Decimal("300000.00")),
        (0, Decimal("0")),
    ],
)
def test_add_accepts_decimal_int_str_float(pct, expected) -> None:
    f = fund()
    alloc = f.add_strategy("s", Idle(), pct)
    assert alloc.allocated_capital == expected
    assert alloc.ledger.cash == expected
    assert f.reserve.cash == M - expected


@pytest.mark.parametrize(
    ("pct", "message"),
    [
        (Decimal("-0.1"), "allocation_pct must be >= 0"),
        (float("nan"), "allocation_pct must be finite"),
        ("lots", "allocation_pct must be a number"),
        (Decimal("1.01"), "Allocation would exceed 100%"),
    ],
)
def test_add_rejects_bad_pct_without_changing_anything(pct, message) -> None:
    f = fund()
    f.add_strategy("a", Idle(), "0.5")
    with pytest.raises(ValueError, match=message):
        f.add_strategy("b", Idle(), pct)
    assert list(f.strategies) == ["a"] and f.reserve.cash == M / 2


def test_add_rejects_duplicate_id() -> None:
    f = fund()
    f.add_strategy("a", Idle(), "0.1")
    with pytest.raises(ValueError, match="Strategy a already exists"):
        f.add_strategy("a", Idle(), "0.1")
    assert f.reserve.cash == Decimal("900000")


def test_initialize_failure_moves_no_money() -> None:
    class Broken(Idle):
        def initialize(self, context):
            raise KeyError("x")

    f = fund()
    with pytest.raises(ValueError, match="failed to initialize"):
        f.add_strategy("a", Broken(), "0.5")
    assert f.strategies == {} and f.reserve.cash == M


def test_fresh_partially_allocated_fund_reports_zero_return() -> None:
    f = fund()
    f.add_strategy("a", Idle(), "0.9")
    f.execute_bar(ts(0), market(0, AAA="10"))
    assert f.get_portfolio_metrics()["portfolio_return"] == "0.00%"
    assert f.get_portfolio_metrics()["total_value"] == "1000000.00"


def test_orders_fill_next_bar_at_open_and_every_ledger_is_marked() -> None:
    f = fund()
    alloc = f.add_strategy("a", BuyAndHold("AAA", 100), "0.5")
    f.execute_bar(ts(0), market(0, AAA="10"))
    assert alloc.ledger.positions == {} and len(alloc.ledger.open_orders) == 1
    f.execute_bar(ts(1), Slice(ts(1), {"AAA": bar(1, "AAA", o="11", c="12", h="12.5", lo="10.5")}))
    position = alloc.ledger.positions["AAA"]
    assert position.amount == 100 and position.cost_basis == Decimal("11")
    assert alloc.current_value == Decimal("500000") - 1100 + 1200
    f.pause_strategy("a")
    f.execute_bar(ts(2), market(2, AAA="15"))
    assert alloc.current_value == Decimal("500000") - 1100 + 1500
    assert alloc.performance.portfolio_values[-1] == alloc.current_value


def test_seed_mapping_and_bar_mapping_inputs() -> None:
    f = fund()
    f.add_strategy("a", BuyAndHold("AAA", 10), "0.5")
    f.execute_bar(ts(0), {"AAA": {"price": Decimal("10"), "volume": 1000}})
    f.execute_bar(ts(1), {"AAA": bar(1, "AAA", "12")})
    assert f.strategies["a"].ledger.positions["AAA"].amount == 10


def test_timestamps_must_increase() -> None:
    f = fund()
    f.execute_bar(ts(1), market(1, AAA="10"))
    for when in (ts(1), ts(0)):
        with pytest.raises(ValueError, match="is not after"):
            f.execute_bar(when, market(0, AAA="10") if when == ts(0) else market(1, AAA="10"))
    assert f.execution_count == 1


def test_bad_data_changes_nothing() -> None:
    f = fund()
    f.add_strategy("a", BuyAndHold(), "0.5")
    with pytest.raises(ValueError):
        f.execute_bar(ts(0), {"AAA": {"volume": 5}})
    assert f.current_timestamp is None and f.execution_count == 0


def test_first_return_is_measured() -> None:
    f = fund()
    alloc = f.add_strategy("a", BuyAndHold("AAA", 1000), "0.5")
    f.execute_bar(ts(0), market(0, AAA="10"))
    assert alloc.performance.returns == [0.0]


def test_failing_strategy_is_isolated_then_quarantined() -> None:
    f = fund()
    flaky = Flaky({2, 3, 4})
    f.add_strategy("flaky", flaky, "0.3")
    good = f.add_strategy("good", BuyAndHold(), "0.3")
    for i in range(5):
        f.execute_bar(ts(i), market(i, AAA="10"))
    rec = f.strategies["flaky"]
    assert rec.state is StrategyState.PAUSED
    assert rec.error_count == 3 and rec.last_error == "RuntimeError: boom 4"
    assert "3 consecutive errors" in rec.pause_reason
    assert flaky.calls == 4
    assert good.ledger.positions["AAA"].amount == 100
    assert rec.performance.num_observations == 6


def test_error_streak_resets_on_success() -> None:
    f = fund()
    f.add_strategy("flaky", Flaky({1, 2, 4, 5}), "0.3")
    for i in range(6):
        f.execute_bar(ts(i), market(i, AAA="10"))
    assert f.strategies["flaky"].state is StrategyState.RUNNING
    assert f.strategies["flaky"].error_count == 4


def test_pause_cancels_orders_and_transitions_are_checked() -> None:
    f = fund()
    alloc = f.add_strategy("a", LimitBuyer(), "0.5")
    f.execute_bar(ts(0), market(0, AAA="10"))
    assert len(alloc.ledger.open_orders) == 1
    f.pause_strategy("a")
    assert alloc.ledger.open_orders == []
    with pytest.raises(ValueError, match="Cannot pause strategy a: it is paused"):
        f.pause_strategy("a")
    f.resume_strategy("a")
    with pytest.raises(ValueError, match="Cannot resume strategy a: it is running"):
        f.resume_strategy("a")
    with pytest.raises(ValueError, match="not found"):
        f.pause_strategy("zzz")


def _costly(_sid: str) -> Ledger:
    return Ledger(commission=PerShare(cost=Decimal("0.01"), min_trade_cost=Decimal("1")))


def test_remove_with_liquidation_returns_cash_less_costs() -> None:
    f = fund(ledger_factory=_costly)
    f.add_strategy("a", BuyAndHold("AAA", 1000), "0.5")
    f.execute_bar(ts(0), market(0, AAA="10"))
    f.execute_bar(ts(1), market(1, AAA="12"))
    value = f.strategies["a"].current_value
    before = f.total_capital
    final = f.remove_strategy("a", liquidate=True)
    assert final == value - Decimal("10.00")
    assert f.total_capital == before - Decimal("10.00")
    assert f.reserve.positions == {} and f.strategies == {}
    assert f.allocated_capital == 0


def test_remove_without_liquidation_moves_positions_to_reserve() -> None:
    f = fund()
    f.add_strategy("a", BuyAndHold("AAA", 1000), "0.5")
    f.execute_bar(ts(0), market(0, AAA="10"))
    f.execute_bar(ts(1), market(1, AAA="12"))
    f.execute_bar(ts(2), market(2, AAA="14"))
    before = f.total_capital
    final = f.remove_strategy("a", liquidate=False)
    assert final == Decimal("500000") + 2000
    assert f.reserve.positions["AAA"].amount == 1000
    assert f.total_capital == before
    f.execute_bar(ts(3), market(3, AAA="15"))
    assert f.total_capital == before + 1000


def test_strategies_are_isolated() -> None:
    f = fund()
    a = f.add_strategy("a", BuyAndHold("AAA", 100), "0.4")
    b = f.add_strategy("b", BuyAndHold("BBB", 50), "0.4")
    for i in range(3):
        f.execute_bar(ts(i), market(i, AAA="10", BBB="20"))
    assert set(a.ledger.positions) == {"AAA"} and set(b.ledger.positions) == {"BBB"}
    assert a.context is not b.context and a.context.bars == 3


def test_correlation_aligned_by_timestamp() -> None:
    f = fund()
    f.add_strategy("a", BuyAndHold("AAA", 10000), "0.3")
    prices = ["10", "11", "10.5", "12", "11", "13", "12.5", "14", "13.5", "15"]
    for i, p in enumerate(prices[:4]):
        f.execute_bar(ts(i), market(i, AAA=p, BBB=p))
    f.add_strategy("b", BuyAndHold("BBB", 20000), "0.3")
    for i, p in enumerate(prices[4:6], start=4):
        f.execute_bar(ts(i), market(i, AAA=p, BBB=p))
    assert f.get_correlation_matrix() is None
    for i, p in enumerate(prices[6:], start=6):
        f.execute_bar(ts(i), market(i, AAA=p, BBB=p))
    corr = f.get_correlation_matrix()
    pa, pb = f.strategies["a"].performance, f.strategies["b"].performance
    ra = dict(zip(pa.return_timestamps, pa.returns, strict=True))
    rb = dict(zip(pb.return_timestamps, pb.returns, strict=True))
    common = sorted(set(ra) & set(rb))
    assert common == [ts(i) for i in range(4, 10)]
    expected = np.corrcoef([ra[t] for t in common], [rb[t] for t in common])[0, 1]
    assert corr.loc["a", "b"] == pytest.approx(expected, abs=1e-12)
    assert corr.loc["b", "a"] == corr.loc["a", "b"]


def test_weighted_sharpe_and_strategy_metrics_shapes() -> None:
    f = fund()
    f.add_strategy("a", BuyAndHold("AAA", 1000), "0.5")
    for i, p in enumerate(["10", "11", "10.5", "12", "12.1"]):
        f.execute_bar(ts(i), market(i, AAA=p))
    m = f.get_strategy_metrics()["a"]
    assert m["allocated_capital"] == "500000.00"
    assert m["state"] == "running" and m["current_weight"].endswith("%")
    assert float(f.get_portfolio_metrics()["weighted_avg_sharpe"]) == pytest.approx(
        f.strategies["a"].performance.sharpe_ratio, abs=0.006
    )
