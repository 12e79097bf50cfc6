"""The solver check case of allocation-methods.md, through the solvers and end to end."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from core.allocation import (
    AllocationConstraints,
    EqualRiskContributionAllocation,
    KellyCriterionAllocation,
    RiskParityAllocation,
    inverse_volatility_weights,
    kelly_qp,
    risk_budget_weights,
    sample_covariance,
)
from tests.core.allocation.doubles import as_floats, assert_valid, book, exact_moments

SIGMA = np.array([[0.01, 0.006, 0.0015], [0.006, 0.04, -0.003], [0.0015, -0.003, 0.0225]])
MU = np.array([0.01, 0.012, -0.002])

INVERSE_VOL = [0.461538, 0.230769, 0.307692]
ERC = [0.422004, 0.236606, 0.341389]
ERC_CAPPED = [0.4, 0.245421, 0.354579]
BUDGETS_532 = [0.536767, 0.208698, 0.254535]
FULL_KELLY = [0.929110, 0.150830, -0.130719]
HALF_KELLY_LONG = [0.450549, 0.082418, 0.0]
FULL_KELLY_CAPPED = [0.6, 0.21, 0.0]
TOL = 1e-6


@pytest.fixture(scope="module")
def strategies():
    return book(exact_moments(SIGMA, MU, 252, seed=7))


def test_double_has_exact_moments(strategies):
    x = np.column_stack([s.returns for s in strategies.values()])
    np.testing.assert_allclose(sample_covariance(x), SIGMA, atol=1e-15)
    np.testing.assert_allclose(x.mean(axis=0), MU, atol=1e-15)


def test_inverse_volatility():
    np.testing.assert_allclose(
        inverse_volatility_weights(np.sqrt(np.diag(SIGMA))), INVERSE_VOL, atol=TOL
    )


def test_erc_equal_risk_contributions():
    w = risk_budget_weights(SIGMA)
    np.testing.assert_allclose(w, ERC, atol=TOL)
    contributions = w * (SIGMA @ w) / (w @ SIGMA @ w)
    np.testing.assert_allclose(contributions, [1 / 3] * 3, atol=1e-12)


def test_erc_capped():
    np.testing.assert_allclose(risk_budget_weights(SIGMA, hi=[0.4, 0.4, 0.4]), ERC_CAPPED, atol=TOL)


def test_risk_budgets():
    w = risk_budget_weights(SIGMA, [0.5, 0.3, 0.2])
    np.testing.assert_allclose(w, BUDGETS_532, atol=TOL)
    contributions = w * (SIGMA @ w) / (w @ SIGMA @ w)
    np.testing.assert_allclose(contributions, [0.5, 0.3, 0.2], atol=1e-12)


def test_full_kelly_unconstrained():
    f = kelly_qp(SIGMA, MU, 1.0, [-5.0] * 3, [5.0] * 3, 5.0)
    np.testing.assert_allclose(f, FULL_KELLY, atol=TOL)
    np.testing.assert_allclose(f, np.linalg.solve(SIGMA, MU), atol=1e-12)


def test_half_kelly_long_only():
    f = kelly_qp(SIGMA, MU, 0.5, [0.0] * 3, [1.0] * 3, 1.0)
    np.testing.assert_allclose(f, HALF_KELLY_LONG, atol=TOL)
    assert 1.0 - f.sum() == pytest.approx(0.467033, abs=TOL)


def test_full_kelly_capped():
    f = kelly_qp(SIGMA, MU, 1.0, [0.0] * 3, [0.6] * 3, 1.0)
    np.testing.assert_allclose(f, FULL_KELLY_CAPPED, atol=TOL)


# ---------------------------------------------------------------- end to end


def test_end_to_end_inverse_volatility(strategies):
    w = RiskParityAllocation().calculate_allocations(strategies)
    assert_valid(w, list(strategies), AllocationConstraints())
    np.testing.assert_allclose(as_floats(w), INVERSE_VOL, atol=TOL)


def test_end_to_end_erc(strategies):
    w = EqualRiskContributionAllocation().calculate_allocations(strategies)
    np.testing.assert_allclose(as_floats(w), ERC, atol=TOL)
    assert sum(w.values()) == Decimal(1)


def test_end_to_end_erc_capped(strategies):
    constraints = AllocationConstraints(default_max=Decimal("0.4"))
    w = EqualRiskContributionAllocation(constraints=constraints).calculate_allocations(strategies)
    assert_valid(w, list(strategies), constraints)
    assert w["s0"] == Decimal("0.4")
    np.testing.assert_allclose(as_floats(w), ERC_CAPPED, atol=TOL)


def test_end_to_end_risk_budgets(strategies):
    budgets = {"s0": Decimal(50), "s1": Decimal(30), "s2": Decimal(20)}
    w = EqualRiskContributionAllocation(risk_budgets=budgets).calculate_allocations(strategies)
    np.testing.assert_allclose(as_floats(w), BUDGETS_532, atol=TOL)


def test_end_to_end_half_kelly_keeps_cash(strategies):
    algo = KellyCriterionAllocation(kelly_fraction=Decimal("0.5"), use_covariance=True)
    w = algo.calculate_allocations(strategies)
    np.testing.assert_allclose(as_floats(w), HALF_KELLY_LONG, atol=TOL)
    assert w["s2"] == 0
    assert 1 - sum(w.values()) == pytest.approx(Decimal("0.467033"), abs=Decimal("1e-6"))


def test_end_to_end_full_kelly_capped(strategies):
    constraints = AllocationConstraints(default_max=Decimal("0.6"))
    algo = KellyCriterionAllocation(kelly_fraction=1, use_covariance=True, constraints=constraints)
    w = algo.calculate_allocations(strategies)
    assert w["s0"] == Decimal("0.6")
    np.testing.assert_allclose(as_floats(w), FULL_KELLY_CAPPED, atol=TOL)
