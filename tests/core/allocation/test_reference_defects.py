"""reference-defects.md items 11–16: what the reference gets wrong, and what paperfund does."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from core.allocation import (
    AllocationConstraints,
    DrawdownBasedAllocation,
    DynamicAllocation,
    EqualRiskContributionAllocation,
    FixedAllocation,
    KellyCriterionAllocation,
    RiskParityAllocation,
)
from core.errors import InfeasibleConstraintsError
from core.performance import StrategyPerformance
from tests.core.allocation.doubles import Series, as_floats, book, exact_moments

D = Decimal


def diag_book(vols, means, periods=252, seed=0):
    return book(
        exact_moments(np.diag(np.square(vols)), np.array(means, dtype=float), periods, seed)
    )


def performance(sid: str, returns, start: int = 0) -> StrategyPerformance:
    perf = StrategyPerformance(sid, lookback_window=252, periods_per_year=252)
    value = Decimal(100_000)
    perf.update(start, value)
    for i, r in enumerate(returns, start=start + 1):
        value = (value * (1 + Decimal(repr(float(r))))).quantize(Decimal("0.01"))
        perf.update(i, value)
    return perf


def test_11_cap_is_kept_exactly_not_renormalised_away():
    s = diag_book([0.005, 0.04, 0.04], [0.0, 0.0, 0.0])  # inverse vol: 0.8, 0.1, 0.1
    np.testing.assert_allclose(
        as_floats(RiskParityAllocation().calculate_allocations(s)), [0.8, 0.1, 0.1], atol=1e-9
    )
    capped = RiskParityAllocation(constraints=AllocationConstraints(default_max=D("0.5")))
    w = capped.calculate_allocations(s)
    assert w == {"s0": D("0.5"), "s1": D("0.25"), "s2": D("0.25")}


def test_11_infeasible_bounds_are_rejected():
    with pytest.raises(InfeasibleConstraintsError):
        AllocationConstraints(default_min=D("0.6"), default_max=D("0.5"))
    algo = RiskParityAllocation(constraints=AllocationConstraints(default_min=D("0.4")))
    with pytest.raises(InfeasibleConstraintsError, match=r"1\.2"):
        algo.calculate_allocations(diag_book([0.01, 0.02, 0.03], [0.0, 0.0, 0.0]))


def test_12_fixed_weights_are_not_forced_to_sum_to_one():
    w = FixedAllocation({"a": D("0.4"), "b": D("0.3")}).calculate_allocations(
        {"a": None, "b": None}
    )
    assert w == {"a": D("0.4"), "b": D("0.3")}


def test_12_fractional_kelly_leaves_cash():
    s = diag_book([0.02, 0.03], [0.0002, 0.0002])  # full Kelly 0.5 and 0.222
    w = KellyCriterionAllocation(kelly_fraction=D("0.5")).calculate_allocations(s)
    assert sum(w.values()) < D("0.4")
    np.testing.assert_allclose(as_floats(w), [0.25, 0.5 * 0.0002 / 0.0009], atol=1e-9)


def test_13_strong_strategies_do_not_tie_and_losers_get_nothing():
    strong = diag_book([0.01, 0.01], [0.0006, 0.0003])  # full Kelly 6 and 3: both > 1
    w = KellyCriterionAllocation(kelly_fraction=1).calculate_allocations(strong)
    assert w["s0"] > w["s1"]
    np.testing.assert_allclose(as_floats(w), [2 / 3, 1 / 3], atol=1e-9)
    losers = diag_book([0.01, 0.02, 0.03], [-0.001, -0.0001, -0.002])
    for algo in (KellyCriterionAllocation(), KellyCriterionAllocation(use_covariance=True)):
        assert set(algo.calculate_allocations(losers).values()) == {D(0)}


def test_13_kelly_is_deterministic():
    s = diag_book([0.01, 0.02], [0.0003, 0.0001], seed=5)
    algo = KellyCriterionAllocation()
    assert all(algo.calculate_allocations(s) == algo.calculate_allocations(s) for _ in range(5))


def test_14_one_return_newcomer_does_not_take_the_fund():
    rng = np.random.default_rng(1)
    strategies = {
        f"old{i}": performance(f"old{i}", rng.normal(0.0005, 0.01, 252)) for i in range(3)
    }
    strategies["newcomer"] = performance("newcomer", [0.001], start=251)
    assert strategies["newcomer"].returns_array().size == 1
    for algo in (RiskParityAllocation(), EqualRiskContributionAllocation()):
        w = algo.calculate_allocations(strategies)
        assert w["newcomer"] <= D("0.25")
        assert sum(w.values()) == 1


def test_14_erc_accounts_for_correlation_unlike_inverse_volatility():
    cov = np.array([[0.0004, 0.00036, 0.0], [0.00036, 0.0004, 0.0], [0.0, 0.0, 0.0004]])
    s = book(exact_moments(cov, np.zeros(3), 252, seed=2))
    inv = as_floats(RiskParityAllocation().calculate_allocations(s))
    erc = as_floats(EqualRiskContributionAllocation().calculate_allocations(s))
    np.testing.assert_allclose(inv, [1 / 3] * 3, atol=1e-9)
    assert erc[2] > 0.4  # the uncorrelated strategy carries a third of the risk, not of the money
    contributions = erc * (cov @ erc)
    np.testing.assert_allclose(contributions / contributions.sum(), [1 / 3] * 3, atol=1e-9)


def test_15_drawdown_threshold_is_used():
    returns = np.full(30, 0.001)
    s = {
        "ok": Series("ok", returns, current_drawdown=-0.05, trough_drawdown=-0.05),
        "deep": Series("deep", returns, current_drawdown=-0.21, trough_drawdown=-0.21),
    }
    assert (
        DrawdownBasedAllocation(max_drawdown_threshold=D("0.20")).calculate_allocations(s)["deep"]
        == 0
    )
    loose = DrawdownBasedAllocation(max_drawdown_threshold=D("0.30")).calculate_allocations(s)
    assert loose["deep"] > D("0.4")


def test_15_no_bonus_for_having_had_a_drawdown():
    returns = np.full(30, 0.001)
    s = {
        "never": Series("never", returns),
        "dipped_once": Series("dipped_once", returns, max_drawdown=-0.15),
    }
    w = DrawdownBasedAllocation(recovery_bonus=D("0.5")).calculate_allocations(s)
    assert w["never"] == w["dipped_once"] == D("0.5")


def test_16_min_allocation_is_a_minimum_and_no_data_is_not_a_zero_return():
    s = diag_book([0.01, 0.01, 0.01], [0.003, 0.001, -0.004], periods=60)
    w = DynamicAllocation(min_allocation=D("0.1")).calculate_allocations(s)
    assert min(w.values()) == D("0.1") == w["s2"]
    s["empty"] = Series("empty", np.array([]))
    w = DynamicAllocation(min_allocation=D(0)).calculate_allocations(s)
    assert w["empty"] == D("0.25")
