"""Scheduled and drift rebalances allocate among running strategies only: the capital of a
paused or quarantined strategy is held exactly where it is (`PortfolioAllocator`).

A strategy quarantined with 3 % of its value invested has a tiny volatility; handed to risk
parity or ERC it would take most of the fund. These tests run real daily data through the
fund and check that its cash and positions do not change while the others are rebalanced,
that an operator's explicit weights still move it, and that money is conserved exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core import (
    AllocationRebalancer,
    EqualRiskContributionAllocation,
    FixedAllocation,
    PortfolioAllocator,
    RebalancingFrequency,
    RiskParityAllocation,
)
from core.errors import InvalidInputError
from core.market import Bar, Slice
from core.records import RebalanceRecord, RebalanceTrigger, StrategyState
from tests.core.held_strategies import AlmostIdle, Hold, InvestThenFail, holdings
from tests.support.market_data import daily_slices, iter_window

D = Decimal
SLICES = list(iter_window(daily_slices(), "2005-01-03", "2005-08-31"))

ALGORITHMS: dict[str, Callable[[], object]] = {
    "risk_parity": lambda: RiskParityAllocation(lookback_window=63),
    "erc": lambda: EqualRiskContributionAllocation(lookback_window=63),
}


def state_of(fund: PortfolioAllocator, sid: str) -> tuple[str, list[tuple[str, str, str]]]:
    ledger = fund.strategies[sid].ledger
    assert ledger is not None
    return holdings(ledger.to_state())


def assert_conserved(records: Iterable[RebalanceRecord]) -> None:
    for record in records:
        assert record.fund_value_after == record.fund_value_before - record.costs


def three_holders(broken: object) -> PortfolioAllocator:
    fund = PortfolioAllocator(D(1_000_000))
    fund.add_strategy("nvda", Hold("NVDA"), D("0.3"))
    fund.add_strategy("orcl", Hold("ORCL"), D("0.3"))
    fund.add_strategy("yhoo", broken, D("0.3"))
    return fund


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_a_quarantined_strategy_gets_no_new_capital(name: str) -> None:
    fund = three_holders(InvestThenFail("YHOO"))
    rebalancer = AllocationRebalancer(ALGORITHMS[name](), RebalancingFrequency.MONTHLY)
    held: tuple[str, list[tuple[str, str, str]]] | None = None
    after: list[RebalanceRecord] = []
    for market in SLICES:
        fund.execute_bar(market.ts, market)
        weights = fund.book.current_weights()
        record = fund.rebalance_if_due(rebalancer)
        if held is None and fund.strategies["yhoo"].quarantined:
            held = state_of(fund, "yhoo")
            assert held[1], "it holds a position when it is quarantined"
        elif held is not None:
            assert state_of(fund, "yhoo") == held
            if record is not None:
                after.append(record)
                assert set(record.targets) == {"nvda", "orcl"}
                assert "yhoo" not in record.transfers
                invested = weights["yhoo"] + sum(record.targets.values())
                assert D(1) - D("1e-9") <= invested <= D(1)
    assert held is not None
    assert fund.strategies["yhoo"].state is StrategyState.PAUSED
    assert len(after) >= 5  # monthly, January to August
    assert_conserved(fund.rebalance_history)
    assert list(fund.allocatable_performances()) == ["nvda", "orcl"]


def test_a_paused_strategy_is_held_through_scheduled_and_drift_rebalances_until_moved() -> None:
    fund = three_holders(Hold("YHOO"))
    rebalancer = AllocationRebalancer(
        RiskParityAllocation(lookback_window=63),
        RebalancingFrequency.MONTHLY,
        cooldown_days=1,
        drift_threshold=D("0.02"),
    )
    held = None
    triggers = []
    for i, market in enumerate(SLICES):
        fund.execute_bar(market.ts, market)
        if i == 5:
            fund.pause_strategy("yhoo", "review")
            held = state_of(fund, "yhoo")
        record = fund.rebalance_if_due(rebalancer)
        if held is not None:
            assert state_of(fund, "yhoo") == held
            if record is not None:
                triggers.append(record.trigger)
                assert "yhoo" not in record.targets and "yhoo" not in record.transfers
    assert RebalanceTrigger.CALENDAR in triggers and RebalanceTrigger.DRIFT in triggers

    before = fund.strategies["yhoo"].value
    manual = fund.rebalance({"yhoo": D("0.05")}, reason="operator moves held capital")
    assert manual.transfers["yhoo"] < 0
    assert fund.strategies["yhoo"].value == before + manual.transfers["yhoo"] - manual.costs
    assert state_of(fund, "yhoo") != held
    assert_conserved(fund.rebalance_history)


def test_drift_is_measured_among_running_strategies() -> None:
    """Held capital is not drift: after the first rebalance the running strategies hold
    35 % of the fund each, which is the algorithm's 50 % of what the held one leaves, so
    flat prices give nothing to do (35 % against 50 % would be drift, every bar)."""
    fund = PortfolioAllocator(D(90_000))
    for sid in ("a", "b", "c"):
        fund.add_strategy(sid, Hold("AAA", 0.5), D("0.3"))
    rebalancer = AllocationRebalancer(
        FixedAllocation({"a": D("0.5"), "b": D("0.5")}),
        RebalancingFrequency.CUSTOM,
        cooldown_days=None,
        drift_threshold=D("0.01"),
    )
    start = datetime(2024, 1, 2, tzinfo=UTC)
    records = []
    for day in range(12):
        ts = start + timedelta(days=day)
        fund.execute_bar(ts, Slice(ts, {"AAA": Bar.flat(ts, "AAA", 10)}))
        if day == 0:
            fund.pause_strategy("c")
        record = fund.rebalance_if_due(rebalancer)
        if record is not None:
            records.append(record)
    assert [r.trigger for r in records] == [RebalanceTrigger.INITIAL]
    assert records[0].targets == {"a": D("0.35"), "b": D("0.35")}
    assert records[0].transfers == {"a": D(4_500), "b": D(4_500)}
    assert rebalancer.last_target_allocations == {"a": D("0.5"), "b": D("0.5")}
    assert fund.strategies["c"].value == D(27_000)
    assert_conserved(records)


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_an_almost_idle_strategy_gets_at_most_the_neutral_share(name: str) -> None:
    fund = three_holders(AlmostIdle("YHOO"))
    rebalancer = AllocationRebalancer(ALGORITHMS[name](), RebalancingFrequency.MONTHLY)
    for market in SLICES:
        fund.execute_bar(market.ts, market)
        fund.rebalance_if_due(rebalancer)
    returns = fund.strategies["yhoo"].performance.returns_array()
    assert 0 < sum(1 for r in returns if r != 0) <= 3 < len(returns)
    history = fund.rebalance_history
    assert len(history) >= 8  # the initial one, then monthly
    for record in history:
        neutral = sum(record.targets.values(), D(0)) / 3
        assert record.targets["yhoo"] <= neutral, record.targets
    assert_conserved(history)


def test_with_no_running_strategy_nothing_is_due_and_nothing_is_recorded() -> None:
    fund = PortfolioAllocator(D(10_000))
    fund.add_strategy("a", Hold("AAA"), D("0.5"))
    rebalancer = AllocationRebalancer(RiskParityAllocation(), RebalancingFrequency.DAILY)
    with pytest.raises(InvalidInputError, match="before the first bar"):
        fund.rebalance_if_due(rebalancer)
    ts = datetime(2024, 1, 2, tzinfo=UTC)
    fund.execute_bar(ts, Slice(ts, {"AAA": Bar.flat(ts, "AAA", 10)}))
    fund.pause_strategy("a")
    assert fund.allocatable_performances() == {}
    assert fund.rebalance_if_due(rebalancer) is None
    assert rebalancer.last_rebalance_time is None and fund.rebalance_history == []
