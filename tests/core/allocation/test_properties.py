"""Every algorithm, random inputs: Decimal weights within bounds, Σ ≤ budget, exactly."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.allocation import (
    AllocationConstraints,
    DrawdownBasedAllocation,
    DynamicAllocation,
    EqualRiskContributionAllocation,
    FixedAllocation,
    HierarchicalRiskParityAllocation,
    KellyCriterionAllocation,
    RiskParityAllocation,
    VolatilityTargeting,
)
from core.errors import InfeasibleConstraintsError
from tests.core.allocation.doubles import Series, assert_valid

D = Decimal
PERIODS = 60

BUDGET_STYLE = {
    "dynamic": lambda c: DynamicAllocation(lookback_window=PERIODS, constraints=c),
    "risk_parity": lambda c: RiskParityAllocation(lookback_window=PERIODS, constraints=c),
    "erc": lambda c: EqualRiskContributionAllocation(lookback_window=PERIODS, constraints=c),
    "erc_budgets": lambda c: EqualRiskContributionAllocation(
        lookback_window=PERIODS, risk_budgets={"s0": 3, "s1": 1}, shrinkage=True, constraints=c
    ),
    "hrp": lambda c: HierarchicalRiskParityAllocation(lookback_window=PERIODS, constraints=c),
    "drawdown": lambda c: DrawdownBasedAllocation(constraints=c),
}
CASH_STYLE = {
    "kelly": lambda c: KellyCriterionAllocation(lookback_window=PERIODS, constraints=c),
    "kelly_cov": lambda c: KellyCriterionAllocation(
        lookback_window=PERIODS, kelly_fraction=1, use_covariance=True, constraints=c
    ),
    "vol_target": lambda c: VolatilityTargeting(
        RiskParityAllocation(lookback_window=PERIODS),
        D("0.05"),
        lookback_window=PERIODS,
        constraints=c,
    ),
}


@st.composite
def series_book(draw):
    n = draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(PERIODS) * 0.01
    out = {}
    for i in range(n):
        kind = draw(st.sampled_from(["normal", "normal", "normal", "new", "constant", "empty"]))
        if kind == "normal":
            length = draw(st.integers(20, PERIODS))
            beta = rng.uniform(-1, 1)
            r = beta * common[-length:] + rng.standard_normal(length) * rng.uniform(0.001, 0.03)
            r = r + rng.uniform(-0.002, 0.003)
        elif kind == "new":
            r = rng.normal(0.0, 0.05, draw(st.integers(1, 5)))
        elif kind == "constant":
            r = np.full(PERIODS, draw(st.sampled_from([0.0, 0.001, -0.002])))
        else:
            r = np.array([])
        current = -draw(st.floats(0.0, 0.5))
        trough = current - draw(st.floats(0.0, 0.3))
        out[f"s{i}"] = Series(f"s{i}", r, current_drawdown=current, trough_drawdown=trough)
    return out


@st.composite
def feasible_constraints(draw, ids):
    n = len(ids)
    budget = D(draw(st.integers(30, 100))) / 100
    floor_cap = int(budget * 100) // n
    mins = {s: D(draw(st.integers(0, min(floor_cap, 10)))) / 100 for s in ids}
    maxs = {s: max(mins[s], D(draw(st.integers(5, 100))) / 100) for s in ids}
    return AllocationConstraints(strategy_min=mins, strategy_max=maxs, max_total=budget)


@pytest.mark.parametrize("name", sorted(BUDGET_STYLE))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_budget_style_output_is_exact(name, data):
    strategies = data.draw(series_book())
    ids = list(strategies)
    constraints = data.draw(feasible_constraints(ids))
    weights = BUDGET_STYLE[name](constraints).calculate_allocations(strategies)
    assert_valid(weights, ids, constraints)
    # fully invested up to the budget or the caps (rounded once to the quantum), except that
    # strategies beyond the drawdown threshold hold only their minimum
    breached = any(s.current_drawdown < -0.2 for s in strategies.values())
    if name != "drawdown" or not breached:
        assert abs(sum(weights.values()) - constraints.investable_total(ids)) <= D("1e-10")


@pytest.mark.parametrize("name", sorted(CASH_STYLE))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_cash_style_output_is_exact(name, data):
    strategies = data.draw(series_book())
    ids = list(strategies)
    constraints = data.draw(feasible_constraints(ids))
    weights = CASH_STYLE[name](constraints).calculate_allocations(strategies)
    assert_valid(weights, ids, constraints)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=6))
def test_fixed_output_is_exact(percentages):
    ids = [f"s{i}" for i in range(len(percentages))]
    config = {s: D(p) / 100 for s, p in zip(ids, percentages, strict=True)}
    if sum(config.values()) > 1:
        with pytest.raises(ValueError, match="Allocations sum to"):
            FixedAllocation(config)
        return
    weights = FixedAllocation(config).calculate_allocations(dict.fromkeys(ids))
    assert weights == config
    assert_valid(weights, ids, AllocationConstraints())


@pytest.mark.parametrize("name", sorted(BUDGET_STYLE | CASH_STYLE))
@settings(max_examples=15, deadline=None)
@given(strategies=series_book(), excess=st.integers(1, 50))
def test_infeasible_constraints_raise(name, strategies, excess):
    ids = list(strategies)
    each = (D(100) + excess) / 100 / len(ids)
    constraints = AllocationConstraints(default_min=min(each, D(1)), max_total=D(1))
    if constraints.default_min * len(ids) <= 1:
        return
    factory = (BUDGET_STYLE | CASH_STYLE)[name]
    with pytest.raises(InfeasibleConstraintsError):
        factory(constraints).calculate_allocations(strategies)
