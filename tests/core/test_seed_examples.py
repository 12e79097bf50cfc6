"""The seed document's examples 1-19, run against paperfund with real strategies and data.

Each test keeps the example's code (imports from `core` instead of `rustybt...`) and adds
assertions on what the example claims.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from core import (
    AllocationRebalancer,
    DrawdownBasedAllocation,
    DynamicAllocation,
    FixedAllocation,
    KellyCriterionAllocation,
    PortfolioAllocator,
    RebalancingFrequency,
    RiskParityAllocation,
    StrategyState,
)
from tests.core.seed_fixtures import (
    MeanReversionStrategy,
    MomentumStrategy,
    PairsTradingStrategy,
    StrategyA,
    StrategyB,
    StrategyC,
    TrendFollowingStrategy,
    data_feed,
    real_slices,
    seed_market_data,
)
from workers import TradingAlgorithm

MILLION = Decimal("1000000")


@pytest.fixture(scope="module")
def run_portfolio() -> PortfolioAllocator:
    portfolio = PortfolioAllocator(total_capital=MILLION, name="MultiStrategy_Fund")
    portfolio.add_strategy("momentum", MomentumStrategy(lookback=20), Decimal("0.40"))
    portfolio.add_strategy("mean_reversion", MeanReversionStrategy(threshold=30), Decimal("0.35"))
    portfolio.add_strategy("trend_following", TrendFollowingStrategy(fast=20, slow=60), "0.25")
    for timestamp, data in data_feed(400):
        portfolio.execute_bar(timestamp, data)
    return portfolio


def test_example_01_basic_setup() -> None:
    portfolio = PortfolioAllocator(total_capital=Decimal("1000000"), name="HedgeFund_Alpha")
    assert portfolio.strategies == {}
    assert portfolio.allocated_capital == Decimal("0")


def test_example_02_adding_strategies() -> None:
    class MomentumStrategy(TradingAlgorithm):
        def handle_data(self, context, data, ledger):
            pass

    class MeanReversionStrategy(TradingAlgorithm):
        def handle_data(self, context, data, ledger):
            pass

    class TrendFollowingStrategy(TradingAlgorithm):
        def handle_data(self, context, data, ledger):
            pass

    portfolio = PortfolioAllocator(total_capital=Decimal("1000000"), name="MultiStrategy_Fund")
    alloc_momentum = portfolio.add_strategy(
        strategy_id="momentum",
        strategy=MomentumStrategy(),
        allocation_pct=Decimal("0.40"),
        metadata={"description": "Short-term momentum", "lookback": 20},
    )
    portfolio.add_strategy("mean_reversion", MeanReversionStrategy(), Decimal("0.35"))
    portfolio.add_strategy("trend_following", TrendFollowingStrategy(), Decimal("0.25"))
    assert f"Allocated: ${portfolio.allocated_capital:,.0f}" == "Allocated: $1,000,000"
    assert portfolio.total_capital - portfolio.allocated_capital == 0
    assert repr(alloc_momentum) == (
        "StrategyAllocation(id=momentum, capital=400000.00, value=400000.00, "
        "return=0.00%, state=running)"
    )
    assert alloc_momentum.metadata["lookback"] == 20


def test_example_03_partial_allocation_keeps_reserve() -> None:
    portfolio = PortfolioAllocator(total_capital=Decimal("1000000"), name="Conservative_Fund")
    portfolio.add_strategy("strategy_a", StrategyA(), Decimal("0.40"))
    portfolio.add_strategy("strategy_b", StrategyB(), Decimal("0.30"))
    portfolio.add_strategy("strategy_c", StrategyC(), Decimal("0.10"))
    assert portfolio.allocated_capital == Decimal("800000")
    assert portfolio.total_capital - portfolio.allocated_capital == Decimal("200000")
    assert portfolio.reserve.cash == Decimal("200000")


def test_example_04_over_allocation_error() -> None:
    portfolio = PortfolioAllocator(total_capital=Decimal("1000000"))
    portfolio.add_strategy("strat_a", StrategyA(), Decimal("0.60"))
    portfolio.add_strategy("strat_b", StrategyB(), Decimal("0.30"))
    with pytest.raises(ValueError) as err:
        portfolio.add_strategy("strat_c", StrategyC(), Decimal("0.30"))
    assert str(err.value) == "Allocation would exceed 100%: current=90.0%, new=30.0%, total=120.0%"
    assert set(portfolio.strategies) == {"strat_a", "strat_b"}
    assert portfolio.reserve.cash == Decimal("100000")


def test_example_05_bar_by_bar_loop() -> None:
    portfolio = PortfolioAllocator(total_capital=Decimal("1000000"))
    portfolio.add_strategy("momentum", MomentumStrategy(), Decimal("0.50"))
    portfolio.add_strategy("mean_rev", MeanReversionStrategy(), Decimal("0.50"))
    timestamps = [market.ts for market in real_slices()[:252]]
    for timestamp, market in zip(timestamps, real_slices(), strict=False):
        market_data = seed_market_data(market)
        portfolio.execute_bar(timestamp, market_data)
    metrics = portfolio.get_portfolio_metrics()
    assert set(metrics) >= {
        "total_value",
        "portfolio_return",
        "num_strategies",
        "active_strategies",
        "weighted_avg_sharpe",
    }
    assert metrics["num_strategies"] == 2 and metrics["active_strategies"] == 2
    assert portfolio.execution_count == 252
    total = sum(a.current_value for a in portfolio.strategies.values()) + portfolio.reserve.cash
    assert Decimal(metrics["total_value"]) == total.quantize(Decimal("0.01"))
    assert any(a.ledger.positions for a in portfolio.strategies.values())


def test_example_06_lifecycle() -> None:
    portfolio = PortfolioAllocator(total_capital=MILLION)
    strategy_b = StrategyB()
    portfolio.add_strategy("strat_a", StrategyA(), Decimal("0.33"))
    portfolio.add_strategy("strat_b", strategy_b, Decimal("0.33"))
    portfolio.add_strategy("strat_c", StrategyC(), Decimal("0.34"))
    for timestamp, data in data_feed(60):
        portfolio.execute_bar(timestamp, data)
    portfolio.pause_strategy("strat_b")
    calls_when_paused = strategy_b.calls
    for timestamp, data in data_feed(30, start=60):
        portfolio.execute_bar(timestamp, data)
    assert strategy_b.calls == calls_when_paused
    assert portfolio.strategies["strat_b"].performance.num_observations == 91
    portfolio.resume_strategy("strat_b")
    fund_before = portfolio.total_capital
    allocated_before = portfolio.allocated_capital
    c_capital = portfolio.strategies["strat_c"].allocated_capital
    final_value = portfolio.remove_strategy("strat_c", liquidate=True)
    assert f"Strategy C final value: ${final_value:,.2f}".startswith("Strategy C final value: $")
    assert portfolio.allocated_capital == allocated_before - c_capital
    assert portfolio.total_capital == fund_before
    assert "strat_c" not in portfolio.strategies


def _three_strategy_portfolio() -> PortfolioAllocator:
    portfolio = PortfolioAllocator(total_capital=MILLION)
    portfolio.add_strategy("momentum", MomentumStrategy(), Decimal("0.40"))
    portfolio.add_strategy("mean_rev", MeanReversionStrategy(), Decimal("0.35"))
    portfolio.add_strategy("trend", TrendFollowingStrategy(fast=20, slow=60), Decimal("0.25"))
    for timestamp, data in data_feed(126):
        portfolio.execute_bar(timestamp, data)
    return portfolio


def test_example_07_manual_rebalancing() -> None:
    portfolio = _three_strategy_portfolio()
    new_allocations = {
        "momentum": Decimal("0.50"),
        "mean_rev": Decimal("0.30"),
        "trend": Decimal("0.20"),
    }
    before = portfolio.total_capital
    record = portfolio.rebalance(
        new_allocations=new_allocations,
        reason="Increase momentum allocation due to strong performance",
    )
    assert portfolio.total_capital == before - record.costs
    for sid, target in new_allocations.items():
        weight = portfolio.strategies[sid].current_value / portfolio.total_capital
        assert abs(weight - target) < Decimal("0.0001")
    assert record.reason.startswith("Increase momentum")


def test_example_08_performance_based_rebalancing() -> None:
    portfolio = _three_strategy_portfolio()

    def rebalance_by_performance(portfolio):
        strategy_metrics = portfolio.get_strategy_metrics()
        returns = {
            sid: Decimal(metrics["return_pct"].rstrip("%")) / 100
            for sid, metrics in strategy_metrics.items()
        }
        min_return = min(returns.values())
        max_return = max(returns.values())
        if max_return > min_return:
            scores = {
                sid: (ret - min_return) / (max_return - min_return) for sid, ret in returns.items()
            }
        else:
            scores = {sid: Decimal("1") for sid in returns}
        total_score = sum(scores.values())
        new_allocations = {sid: score / total_score for sid, score in scores.items()}
        portfolio.rebalance(
            new_allocations=new_allocations,
            reason="Performance-based rebalancing (allocate to winners)",
        )
        return returns

    returns = rebalance_by_performance(portfolio)
    worst = min(returns, key=returns.get)
    assert portfolio.strategies[worst].current_value == 0 or len(set(returns.values())) == 1
    assert len(portfolio.rebalance_history) == 1


def test_example_09_monitoring(run_portfolio: PortfolioAllocator) -> None:
    metrics = run_portfolio.get_portfolio_metrics()
    assert metrics["portfolio_return"].endswith("%")
    assert f"{metrics['active_strategies']}/{metrics['num_strategies']}" == "3/3"
    float(metrics["weighted_avg_sharpe"])
    strategy_metrics = run_portfolio.get_strategy_metrics()
    for metrics in strategy_metrics.values():
        assert {"allocated_capital", "current_value", "return_pct", "sharpe_ratio"} <= set(metrics)
        assert metrics["max_drawdown"].endswith("%")


def test_example_10_correlation(run_portfolio: PortfolioAllocator) -> None:
    corr_matrix = run_portfolio.get_correlation_matrix()
    assert isinstance(corr_matrix, pd.DataFrame)
    assert list(corr_matrix.columns) == ["momentum", "mean_reversion", "trend_following"]
    for sid in corr_matrix.columns:
        assert corr_matrix.loc[sid, sid] == 1.0


def test_example_11_accessing_performance(run_portfolio: PortfolioAllocator) -> None:
    alloc = run_portfolio.strategies["momentum"]
    perf = alloc.performance
    assert perf.strategy_id == "momentum"
    assert len(perf.portfolio_values) > 0
    assert perf.portfolio_values[-1] == alloc.current_value
    assert perf.peak_value >= perf.portfolio_values[-1]
    lines = [
        f"Current Value: ${perf.portfolio_values[-1]:,.2f}",
        f"Peak Value: ${perf.peak_value:,.2f}",
        f"Current DD: {float(perf.current_drawdown):.2%}",
        f"Max DD: {float(perf.max_drawdown):.2%}",
        f"Volatility: {float(perf.volatility):.2%}",
        f"Sharpe Ratio: {float(perf.sharpe_ratio):.2f}",
        f"Win Rate: {float(perf.win_rate):.2%}",
        f"Profit Factor: {float(perf.profit_factor):.2f}",
    ]
    assert all(lines)
    metrics_dict = perf.get_metrics()
    assert metrics_dict["strategy_id"] == "momentum"
    assert metrics_dict["num_observations"] == 401


def _performances(portfolio: PortfolioAllocator) -> dict:
    return {sid: alloc.performance for sid, alloc in portfolio.strategies.items()}


def test_example_12_fixed(run_portfolio: PortfolioAllocator) -> None:
    fixed_algo = FixedAllocation(
        allocations={
            "momentum": Decimal("0.40"),
            "mean_reversion": Decimal("0.35"),
            "trend_following": Decimal("0.25"),
        }
    )
    allocations = fixed_algo.calculate_allocations(_performances(run_portfolio))
    assert allocations == {
        "momentum": Decimal("0.40"),
        "mean_reversion": Decimal("0.35"),
        "trend_following": Decimal("0.25"),
    }


def test_example_13_dynamic(run_portfolio: PortfolioAllocator) -> None:
    dynamic_algo = DynamicAllocation(lookback_window=60, min_allocation=Decimal("0.05"))
    allocations = dynamic_algo.calculate_allocations(_performances(run_portfolio))
    assert sum(allocations.values()) <= 1
    assert min(allocations.values()) >= Decimal("0.05")
    perf = _performances(run_portfolio)
    growth = {sid: float((1 + p.returns_array(60)).prod()) for sid, p in perf.items()}
    best, worst = max(growth, key=growth.get), min(growth, key=growth.get)
    assert allocations[best] >= allocations[worst]


def test_example_14_risk_parity(run_portfolio: PortfolioAllocator) -> None:
    risk_parity = RiskParityAllocation(lookback_window=252, min_volatility=Decimal("0.001"))
    allocations = risk_parity.calculate_allocations(_performances(run_portfolio))
    vols = {
        sid: p.returns_array(252).std(ddof=1) for sid, p in _performances(run_portfolio).items()
    }
    calm, wild = min(vols, key=vols.get), max(vols, key=vols.get)
    assert allocations[calm] > allocations[wild]
    assert sum(allocations.values()) == 1


def test_example_15_kelly(run_portfolio: PortfolioAllocator) -> None:
    kelly = KellyCriterionAllocation(lookback_window=252, kelly_fraction=Decimal("0.5"))
    allocations = kelly.calculate_allocations(_performances(run_portfolio))
    assert set(allocations) == {"momentum", "mean_reversion", "trend_following"}
    assert all(w >= 0 for w in allocations.values())
    assert sum(allocations.values()) <= 1


def test_example_16_drawdown_based(run_portfolio: PortfolioAllocator) -> None:
    drawdown_algo = DrawdownBasedAllocation(
        max_drawdown_threshold=Decimal("0.20"), recovery_bonus=Decimal("0.1")
    )
    perf = _performances(run_portfolio)
    allocations = drawdown_algo.calculate_allocations(perf)
    assert sum(allocations.values()) <= 1
    shallow = max(perf, key=lambda s: perf[s].current_drawdown)
    deep = min(perf, key=lambda s: perf[s].current_drawdown)
    if perf[deep].current_drawdown < perf[shallow].current_drawdown:
        assert allocations[deep] <= allocations[shallow] or (
            perf[deep].current_drawdown > perf[deep].trough_drawdown
        )


def test_example_17_monthly_risk_parity() -> None:
    portfolio = PortfolioAllocator(total_capital=MILLION)
    portfolio.add_strategy("momentum", MomentumStrategy(), Decimal("0.33"))
    portfolio.add_strategy("mean_rev", MeanReversionStrategy(), Decimal("0.33"))
    portfolio.add_strategy("trend", TrendFollowingStrategy(fast=20, slow=60), Decimal("0.34"))
    risk_parity = RiskParityAllocation(lookback_window=252)
    rebalancer = AllocationRebalancer(
        algorithm=risk_parity, frequency=RebalancingFrequency.MONTHLY, cooldown_days=7
    )
    reasons = []
    for timestamp, data in data_feed(300):
        portfolio.execute_bar(timestamp, data)
        current_allocs = {
            sid: alloc.allocated_capital / portfolio.total_capital
            for sid, alloc in portfolio.strategies.items()
        }
        should_rebal, reason = rebalancer.should_rebalance(
            current_time=timestamp, current_allocations=current_allocs
        )
        if should_rebal:
            strategies = {sid: alloc.performance for sid, alloc in portfolio.strategies.items()}
            new_allocations = rebalancer.rebalance(strategies, timestamp)
            portfolio.rebalance(new_allocations, reason=reason)
            reasons.append(reason)
    assert reasons[0] == "Initial rebalancing"
    months = {(m.ts.year, m.ts.month) for m in real_slices()[:300]}
    assert reasons.count("Monthly rebalancing") == len(months) - 1
    ledgers = sum((a.ledger.portfolio_value for a in portfolio.strategies.values()), Decimal(0))
    assert portfolio.total_capital == ledgers + portfolio.reserve.portfolio_value


def test_example_18_drift() -> None:
    risk_parity = RiskParityAllocation(lookback_window=252)
    rebalancer = AllocationRebalancer(
        algorithm=risk_parity,
        frequency=RebalancingFrequency.MONTHLY,
        cooldown_days=7,
        drift_threshold=Decimal("0.05"),
    )
    last = pd.Timestamp("2024-03-01", tz="UTC")
    target_allocs = {
        "momentum": Decimal("0.33"),
        "mean_rev": Decimal("0.33"),
        "trend": Decimal("0.34"),
    }
    rebalancer.record_rebalance(last, target_allocs)
    timestamp = pd.Timestamp("2024-03-15", tz="UTC")
    current_allocs = {
        "momentum": Decimal("0.40"),
        "mean_rev": Decimal("0.30"),
        "trend": Decimal("0.30"),
    }
    should_rebal, reason = rebalancer.should_rebalance(
        current_time=timestamp,
        current_allocations=current_allocs,
        target_allocations=target_allocs,
    )
    assert should_rebal is True
    assert reason == "Allocation drift (7.0% > 5.0%)"


def test_example_19_complete_portfolio(capsys: pytest.CaptureFixture[str]) -> None:
    portfolio = PortfolioAllocator(total_capital=Decimal("1000000"), name="HedgeFund_Diversified")
    portfolio.add_strategy(
        "momentum_short_term",
        MomentumStrategy(lookback=20),
        Decimal("0.25"),
        metadata={"description": "Short-term momentum (20-day)"},
    )
    portfolio.add_strategy(
        "mean_reversion_rsi", MeanReversionStrategy(threshold=30), Decimal("0.25")
    )
    portfolio.add_strategy(
        "trend_ma_crossover", TrendFollowingStrategy(fast=50, slow=200), Decimal("0.25")
    )
    portfolio.add_strategy(
        "pairs_trading", PairsTradingStrategy(pairs=[("AAPL", "GOOGL")]), Decimal("0.25")
    )
    risk_parity = RiskParityAllocation(lookback_window=252)
    rebalancer = AllocationRebalancer(
        algorithm=risk_parity, frequency=RebalancingFrequency.MONTHLY, cooldown_days=7
    )
    market = {s.ts: seed_market_data(s) for s in real_slices()[-504:]}
    timestamps = list(market)

    def fetch_market_data(timestamp):
        return market[timestamp]

    for timestamp in timestamps:
        market_data = fetch_market_data(timestamp)
        portfolio.execute_bar(timestamp, market_data)
        current_allocs = {
            sid: alloc.allocated_capital / portfolio.total_capital
            for sid, alloc in portfolio.strategies.items()
        }
        should_rebal, reason = rebalancer.should_rebalance(
            current_time=timestamp, current_allocations=current_allocs
        )
        if should_rebal:
            strategies = {sid: alloc.performance for sid, alloc in portfolio.strategies.items()}
            new_allocations = rebalancer.rebalance(strategies, timestamp)
            portfolio.rebalance(new_allocations, reason=reason)

    print("\n=== Final Portfolio Results ===")
    metrics = portfolio.get_portfolio_metrics()
    print(f"Total Value: {metrics['total_value']}")
    print(f"Return: {metrics['portfolio_return']}")
    print(f"Weighted Sharpe: {metrics['weighted_avg_sharpe']}")
    strategy_metrics = portfolio.get_strategy_metrics()
    for sid, metrics in strategy_metrics.items():
        print(f"\n{sid}:")
        print(f"  Return: {metrics['return_pct']}")
        print(f"  Sharpe: {metrics['sharpe_ratio']}")
        print(f"  Max DD: {metrics['max_drawdown']}")
        print(f"  Win Rate: {metrics['win_rate']}")
    corr_matrix = portfolio.get_correlation_matrix()
    assert corr_matrix is not None
    print(corr_matrix)
    out = capsys.readouterr().out
    assert "pairs_trading:" in out and "Total Value: " in out
    assert len(portfolio.rebalance_history) >= 20
    pairs = portfolio.strategies["pairs_trading"]
    assert pairs.ledger.total_commission >= 0 and pairs.performance.num_returns > 0
    assert all(a.state is StrategyState.RUNNING for a in portfolio.strategies.values())
