"""A series with too few non-zero returns is not a low-volatility jackpot: it counts as new.

An almost idle strategy (one -0.1 % day in 60) has a tiny but measurable volatility; risk
parity, ERC and the other budget-style algorithms would hand it nearly the whole fund. The
data policy counts only non-zero returns towards `min_observations`, so it gets the neutral
share total/N at most (and nothing from Kelly, which bets only on a measured edge).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from core.allocation import (
    AllocationAlgorithm,
    DrawdownBasedAllocation,
    DynamicAllocation,
    EqualRiskContributionAllocation,
    HierarchicalRiskParityAllocation,
    KellyCriterionAllocation,
    RiskParityAllocation,
)
from core.allocation.base import observe
from tests.core.allocation.doubles import Series, book, correlated_returns

PERIODS = 60

BUDGET_STYLE = {
    "risk_parity": lambda: RiskParityAllocation(lookback_window=PERIODS),
    "erc": lambda: EqualRiskContributionAllocation(lookback_window=PERIODS),
    "hrp": lambda: HierarchicalRiskParityAllocation(lookback_window=PERIODS),
    "dynamic": lambda: DynamicAllocation(lookback_window=PERIODS),
    "drawdown": lambda: DrawdownBasedAllocation(lookback_window=PERIODS),
}


def almost_idle(non_zero: int = 1) -> np.ndarray:
    returns = np.zeros(PERIODS)
    returns[PERIODS // 2 : PERIODS // 2 + non_zero] = -0.001
    return returns


def fund_with_idle(non_zero: int = 1) -> dict[str, Series]:
    strategies = book(correlated_returns(3, PERIODS, seed=11))
    strategies["idle"] = Series("idle", almost_idle(non_zero))
    return strategies


@pytest.mark.parametrize("name", sorted(BUDGET_STYLE))
def test_an_almost_idle_strategy_gets_at_most_the_neutral_share(name: str) -> None:
    algorithm: AllocationAlgorithm = BUDGET_STYLE[name]()
    strategies = fund_with_idle()
    weights = algorithm.calculate_allocations(strategies)
    neutral = sum(weights.values(), Decimal(0)) / len(weights)
    assert weights["idle"] <= neutral + Decimal("1e-10"), weights
    assert all(weights[sid] > 0 for sid in ("s0", "s1", "s2")), weights


def test_kelly_bets_nothing_on_an_almost_idle_strategy() -> None:
    weights = KellyCriterionAllocation(lookback_window=PERIODS).calculate_allocations(
        fund_with_idle()
    )
    assert weights["idle"] == 0


def test_only_non_zero_returns_count_towards_min_observations() -> None:
    series = [Series("a", almost_idle(19)), Series("b", almost_idle(20))]
    series[1].returns[0] = 0.002  # not constant either way
    series[0].returns[0] = 0.002
    observation = observe(series, PERIODS, 21)
    assert observation.new.tolist() == [True, False]
    assert observe(series, PERIODS, 20).new.tolist() == [False, False]
