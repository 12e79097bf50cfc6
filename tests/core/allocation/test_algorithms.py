"""Behaviour and data policy of each algorithm (new, constant, negative-edge strategies)."""

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
    HierarchicalRiskParityAllocation,
    KellyCriterionAllocation,
    RiskParityAllocation,
    VolatilityTargeting,
    hrp_weights,
    risk_budget_weights,
    sample_covariance,
)
from core.errors import InfeasibleConstraintsError, InvalidInputError
from tests.core.allocation.doubles import (
    Series,
    as_floats,
    assert_valid,
    book,
    correlated_returns,
    exact_moments,
)

D = Decimal


def diag_book(vols, means, periods=252, seed=0):
    cov = np.diag(np.square(vols))
    return book(exact_moments(cov, np.array(means, dtype=float), periods, seed))


def with_new(strategies, returns=(0.05,)):
    out = dict(strategies)
    out["new"] = Series("new", np.array(returns, dtype=float))
    return out


# ---------------------------------------------------------------- fixed


def test_fixed_weights_as_given_and_unknown_ids_get_zero():
    algo = FixedAllocation({"a": D("0.40"), "b": D("0.35"), "c": D("0.25")})
    w = algo.calculate_allocations({"c": None, "x": None, "a": None})
    assert list(w) == ["c", "x", "a"]
    assert w == {"c": D("0.25"), "x": D(0), "a": D("0.40")}
    assert str(w["a"]) == "0.40"


def test_fixed_validation():
    with pytest.raises(ValueError, match=r"Allocations sum to 1\.1"):
        FixedAllocation({"a": D("0.6"), "b": D("0.5")})
    with pytest.raises(InvalidInputError, match=">= 0"):
        FixedAllocation({"a": D("-0.1")})
    with pytest.raises(InfeasibleConstraintsError, match="outside its bounds"):
        FixedAllocation({"a": D("0.6")}, AllocationConstraints(default_max=D("0.5")))
    algo = FixedAllocation({"a": D("0.3")}, AllocationConstraints(default_min=D("0.1")))
    assert algo.calculate_allocations({"a": None}) == {"a": D("0.3")}
    with pytest.raises(InfeasibleConstraintsError, match="'b'"):
        algo.calculate_allocations({"a": None, "b": None})  # b would get 0 < its minimum


def test_fixed_weights_off_the_grid_are_quantised_within_budget():
    third = D(1) / D(3)
    w = FixedAllocation({"a": third, "b": third, "c": third}).calculate_allocations(
        dict.fromkeys("abc")
    )
    assert sum(w.values()) <= 1
    assert all(abs(v - third) < D("1e-10") for v in w.values())


# ---------------------------------------------------------------- dynamic


def test_dynamic_scores_and_real_floor():
    s = diag_book([0.01, 0.01, 0.01], [0.002, 0.001, -0.001], periods=60)
    w = DynamicAllocation(lookback_window=60, min_allocation=D("0.05")).calculate_allocations(s)
    assert_valid(w, list(s), AllocationConstraints())
    assert w["s2"] == D("0.05")  # worst: exactly the floor, not floor + something
    assert w["s0"] > w["s1"] > w["s2"]
    assert sum(w.values()) == 1


def test_dynamic_equal_when_all_equal_and_newcomer_neutral():
    flat = {k: Series(k, np.full(60, 0.001)) for k in "abc"}
    w = DynamicAllocation().calculate_allocations(flat)
    assert set(w.values()) == {D("0.3333333333"), D("0.3333333334")}
    s = diag_book([0.01, 0.01], [0.002, -0.002], periods=60)
    w = DynamicAllocation(min_allocation=0).calculate_allocations(with_new(s, returns=[-0.5]))
    assert abs(w["new"] - D(1) / 3) < D("1e-9")  # neutral share, not "zero return" nor its -50 %
    assert abs(w["s0"] - D(2) / 3) < D("1e-9") and w["s1"] == 0


def test_dynamic_floor_lowered_when_it_cannot_fit():
    s = book(correlated_returns(25, 60, seed=4))
    w = DynamicAllocation(min_allocation=D("0.05")).calculate_allocations(s)
    assert set(w.values()) == {D("0.04")}


# ---------------------------------------------------------------- risk parity


def test_risk_parity_inverse_volatility_and_min_volatility():
    s = diag_book([0.01, 0.02], [0.0, 0.0])
    w = RiskParityAllocation().calculate_allocations(s)
    np.testing.assert_allclose(as_floats(w), [2 / 3, 1 / 3], atol=1e-10)
    w = RiskParityAllocation(min_volatility=D("0.5")).calculate_allocations(s)  # both floored
    assert w["s0"] == w["s1"] == D("0.5")


def test_risk_parity_new_and_constant_get_neutral_share():
    s = diag_book([0.01, 0.02], [0.0, 0.0])
    s["flat"] = Series("flat", np.full(252, 0.0001))
    w = RiskParityAllocation().calculate_allocations(with_new(s))
    assert abs(w["new"] - D("0.25")) < D("1e-9") and abs(w["flat"] - D("0.25")) < D("1e-9")
    np.testing.assert_allclose([float(w["s0"]), float(w["s1"])], [1 / 3, 1 / 6], atol=1e-9)
    only_new = {k: Series(k, np.array([0.01])) for k in "ab"}
    assert RiskParityAllocation().calculate_allocations(only_new) == {"a": D("0.5"), "b": D("0.5")}


# ---------------------------------------------------------------- Kelly


def test_kelly_half_kelly_keeps_cash():
    s = diag_book([0.02], [0.0002])  # full Kelly μ/σ² = 0.5
    w = KellyCriterionAllocation(kelly_fraction=D("0.5"), min_variance=0).calculate_allocations(s)
    assert abs(w["s0"] - D("0.25")) < D("1e-9")


def test_kelly_scales_down_only_above_budget_without_ties():
    s = diag_book([0.01, 0.01], [0.0004, 0.0002])  # full Kelly 4 and 2
    w = KellyCriterionAllocation(kelly_fraction=1).calculate_allocations(s)
    np.testing.assert_allclose(as_floats(w), [2 / 3, 1 / 3], atol=1e-9)
    assert sum(w.values()) == 1


def test_kelly_new_constant_and_negative_get_nothing():
    s = diag_book([0.02, 0.02], [0.0002, -0.0002])
    s["flat"] = Series("flat", np.full(252, 0.001))  # a "sure" edge with no measurable risk
    w = KellyCriterionAllocation().calculate_allocations(with_new(s))
    assert w["s1"] == w["flat"] == w["new"] == 0
    assert w["s0"] > 0
    only_new = {k: Series(k, np.array([0.03])) for k in "ab"}
    assert KellyCriterionAllocation().calculate_allocations(only_new) == {"a": 0, "b": 0}


def test_kelly_minimum_bound_is_respected():
    s = diag_book([0.02, 0.02], [0.0002, -0.0002])
    c = AllocationConstraints(strategy_min={"s1": D("0.1")})
    w = KellyCriterionAllocation(constraints=c).calculate_allocations(s)
    assert w["s1"] == D("0.1")


def test_kelly_min_variance_floor_is_annualised():
    s = diag_book([0.0001], [0.00001])  # σ² per period 1e-8: full Kelly would be 1000
    w = KellyCriterionAllocation(
        kelly_fraction=D("0.5"), min_variance=D("0.01")
    ).calculate_allocations(s)
    assert abs(w["s0"] - D("0.5") * D("0.00001") / (D("0.01") / 252)) < D("1e-9")


def test_multivariate_kelly_keeps_a_hedge():
    cov = np.array([[0.04, -0.03], [-0.03, 0.04]])
    s = book(exact_moments(cov, np.array([0.01, -0.001]), 252, seed=3))
    single = KellyCriterionAllocation(kelly_fraction=1).calculate_allocations(s)
    multi = KellyCriterionAllocation(kelly_fraction=1, use_covariance=True).calculate_allocations(s)
    assert single["s1"] == 0
    np.testing.assert_allclose(as_floats(multi), np.linalg.solve(cov, [0.01, -0.001]), atol=1e-9)


def test_multivariate_kelly_new_strategy_gets_nothing():
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    s = book(exact_moments(cov, np.array([0.004, 0.003]), 252, seed=5))
    w = KellyCriterionAllocation(use_covariance=True).calculate_allocations(with_new(s, [0.2] * 5))
    assert w["new"] == 0 and w["s0"] > 0


# ---------------------------------------------------------------- ERC / HRP


def test_erc_newcomer_neutral_and_rest_risk_budgeted():
    x = correlated_returns(4, 252, seed=8)
    s = with_new(book(x))
    w = EqualRiskContributionAllocation().calculate_allocations(s)
    assert abs(w["new"] - D("0.2")) < D("1e-9")
    expected = 0.8 * risk_budget_weights(sample_covariance(x))
    np.testing.assert_allclose(as_floats(w)[:4], expected, atol=1e-9)


def test_erc_budget_fallback_and_validation():
    x = correlated_returns(3, 252, seed=9)
    s = book(x)
    algo = EqualRiskContributionAllocation(risk_budgets={"s0": 2, "s1": 1})  # s2 gets the mean
    expected = risk_budget_weights(sample_covariance(x), [2.0, 1.0, 1.5])
    np.testing.assert_allclose(as_floats(algo.calculate_allocations(s)), expected, atol=1e-9)
    with pytest.raises(InvalidInputError):
        EqualRiskContributionAllocation(risk_budgets={"s0": 0})


def test_erc_shrinkage_changes_estimate_but_not_contract():
    x = correlated_returns(8, 40, seed=10)
    s = book(x)
    plain = EqualRiskContributionAllocation().calculate_allocations(s)
    shrunk = EqualRiskContributionAllocation(shrinkage="ledoit_wolf").calculate_allocations(s)
    assert plain != shrunk
    assert sum(shrunk.values()) == 1


def test_hrp_end_to_end_and_newcomer():
    x = correlated_returns(6, 252, seed=11)
    w = HierarchicalRiskParityAllocation().calculate_allocations(with_new(book(x)))
    assert abs(w["new"] - D(1) / 7) < D("1e-9")
    np.testing.assert_allclose(
        as_floats(w)[:6], 6 / 7 * hrp_weights(sample_covariance(x)), atol=1e-9
    )


# ---------------------------------------------------------------- drawdown


def dd_series(name, current, trough, periods=30):
    return Series(
        name,
        np.full(periods, 0.001) + np.arange(periods) * 1e-5,
        current_drawdown=current,
        trough_drawdown=trough,
    )


def test_drawdown_threshold_gives_the_minimum():
    s = {
        "a": dd_series("a", 0.0, 0.0),
        "b": dd_series("b", -0.05, -0.05),
        "c": dd_series("c", -0.25, -0.3),
    }
    c = AllocationConstraints(strategy_min={"c": D("0.02")})
    w = DrawdownBasedAllocation(
        max_drawdown_threshold=D("0.20"), constraints=c
    ).calculate_allocations(s)
    assert w["c"] == D("0.02")
    ratio = float(w["a"] / w["b"])
    assert ratio == pytest.approx(1.05, abs=1e-9)
    assert sum(w.values()) == 1


def test_drawdown_recovery_bonus_only_for_climbing_back():
    s = {
        "peak": dd_series("peak", 0.0, 0.0),
        "recovered_fully": Series("recovered_fully", np.full(30, 0.001), max_drawdown=-0.3),
        "climbing": dd_series("climbing", -0.10, -0.20),
        "at_trough": dd_series("at_trough", -0.10, -0.10),
    }
    algo = DrawdownBasedAllocation(recovery_bonus=D("0.1"))
    w = algo.calculate_allocations(s)
    assert w["peak"] == w["recovered_fully"]
    assert w["climbing"] > w["at_trough"]
    assert float(w["climbing"] / w["at_trough"]) == pytest.approx(1.05, abs=1e-9)  # half recovered


def test_drawdown_measured_on_the_window():
    up = Series("up", np.full(30, 0.01))
    crash = Series("crash", np.r_[np.full(20, 0.01), -0.3, np.full(9, 0.0)])
    w = DrawdownBasedAllocation(lookback_window=30).calculate_allocations(
        {"up": up, "crash": crash}
    )
    assert w == {"up": D(1), "crash": D(0)}


# ---------------------------------------------------------------- volatility targeting


def test_vol_target_scales_down_to_target():
    s = diag_book([0.02, 0.02], [0.0, 0.0])
    inner = FixedAllocation({"s0": D("0.5"), "s1": D("0.5")})
    w = VolatilityTargeting(inner, target_volatility=D("0.1")).calculate_allocations(s)
    sigma_p = np.sqrt(0.5 * 0.02**2 * 252)  # equal weights of two independent strategies
    assert float(w["s0"]) == pytest.approx(0.5 * 0.1 / sigma_p, abs=1e-9)
    assert w["s0"] == w["s1"]


def test_vol_target_never_above_budget_or_leverage():
    s = diag_book([0.001, 0.001], [0.0, 0.0])
    inner = FixedAllocation({"s0": D("0.2"), "s1": D("0.1")})
    w = VolatilityTargeting(inner, target_volatility=D("0.5")).calculate_allocations(s)
    assert sum(w.values()) == 1 and float(w["s0"] / w["s1"]) == pytest.approx(2.0)
    w = VolatilityTargeting(
        inner, target_volatility=D("0.5"), max_leverage=2
    ).calculate_allocations(s)
    assert w == {"s0": D("0.4"), "s1": D("0.2")}


def test_vol_target_does_not_lever_unknown_risk():
    s = with_new(diag_book([0.001], [0.0]))
    inner = FixedAllocation({"s0": D("0.2"), "new": D("0.1")})
    w = VolatilityTargeting(inner, target_volatility=D("0.5")).calculate_allocations(s)
    assert w == {"s0": D("0.2"), "new": D("0.1")}


# ---------------------------------------------------------------- shared


@pytest.mark.parametrize(
    "algo",
    [
        DynamicAllocation(),
        RiskParityAllocation(),
        KellyCriterionAllocation(),
        KellyCriterionAllocation(use_covariance=True),
        EqualRiskContributionAllocation(),
        HierarchicalRiskParityAllocation(),
        DrawdownBasedAllocation(),
    ],
    ids=lambda a: type(a).__name__,
)
def test_empty_input_and_deterministic_output(algo):
    assert algo.calculate_allocations({}) == {}
    s = book(correlated_returns(5, 252, seed=12))
    assert algo.calculate_allocations(s) == algo.calculate_allocations(dict(s))
    with pytest.raises(InvalidInputError):
        algo.calculate_allocations([("a", s["s0"])])


def test_parameter_validation():
    with pytest.raises(InvalidInputError):
        RiskParityAllocation(lookback_window=1)
    with pytest.raises(InvalidInputError):
        DynamicAllocation(lookback_window=10, min_observations=20)
    with pytest.raises(InvalidInputError):
        KellyCriterionAllocation(kelly_fraction=0)
    with pytest.raises(InvalidInputError):
        DrawdownBasedAllocation(max_drawdown_threshold=D("1.5"))
    with pytest.raises(InvalidInputError):
        VolatilityTargeting(object(), target_volatility=D("0.1"))
    assert DynamicAllocation(lookback_window=10).min_observations == 10


def test_drawdown_newcomer_gets_neutral_share():
    s = {
        "a": dd_series("a", 0.0, 0.0),
        "b": dd_series("b", -0.10, -0.10),
        "new": Series("new", np.array([0.02])),  # at a peak, but too young to be scored
    }
    w = DrawdownBasedAllocation().calculate_allocations(s)
    assert abs(w["new"] - D(1) / 3) < D("1e-9")
    assert float(w["a"] / w["b"]) == pytest.approx(1.1, abs=1e-9)


def test_erc_and_hrp_constant_strategy_gets_neutral_share():
    x = correlated_returns(3, 252, seed=13)
    s = book(x)
    s["cash_like"] = Series("cash_like", np.zeros(252))
    for algo in (EqualRiskContributionAllocation(), HierarchicalRiskParityAllocation()):
        w = algo.calculate_allocations(s)
        assert abs(w["cash_like"] - D("0.25")) < D("1e-9")
        assert sum(w.values()) == 1
