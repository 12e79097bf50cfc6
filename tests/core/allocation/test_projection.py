"""Exact projection onto {lo ≤ w ≤ hi, Σw = s} and {lo ≤ w ≤ hi, Σw ≤ s}."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from core.allocation import project_box_budget, project_box_sum
from core.errors import InfeasibleConstraintsError, InvalidInputError

finite = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False)


@st.composite
def box_problems(draw):
    n = draw(st.integers(min_value=1, max_value=12))
    y = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
    a = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    b = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    share = draw(st.floats(0.0, 1.0))
    total = lo.sum() + share * (hi.sum() - lo.sum())
    return y, lo, hi, total


@settings(max_examples=300, deadline=None)
@given(box_problems())
def test_projection_is_feasible_and_idempotent(problem):
    y, lo, hi, total = problem
    w = project_box_sum(y, lo, hi, total)
    assert (w >= lo).all() and (w <= hi).all()
    assert w.sum() == pytest.approx(total, abs=1e-12)
    again = project_box_sum(w, lo, hi, total)
    np.testing.assert_allclose(again, w, atol=1e-13)


@settings(max_examples=200, deadline=None)
@given(box_problems())
def test_projection_is_the_nearest_point(problem):
    """KKT of argmin ‖w − y‖²: w = clip(y − τ) for one τ, checked via the free entries."""
    y, lo, hi, total = problem
    w = project_box_sum(y, lo, hi, total)
    free = (w > lo + 1e-12) & (w < hi - 1e-12)
    if free.sum() >= 1:
        tau = (y - w)[free]
        assert np.ptp(tau) < 1e-9
        np.testing.assert_allclose(w, np.clip(y - tau.mean(), lo, hi), atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(box_problems())
def test_budget_projection(problem):
    y, lo, hi, total = problem
    w = project_box_budget(y, lo, hi, total)
    assert (w >= lo).all() and (w <= hi).all()
    assert w.sum() <= total + 1e-12
    np.testing.assert_allclose(project_box_budget(w, lo, hi, total), w, atol=1e-13)
    clipped = np.clip(y, lo, hi)
    if clipped.sum() <= total:
        np.testing.assert_array_equal(w, clipped)


def test_projection_matches_a_generic_solver():
    rng = np.random.default_rng(3)
    for _ in range(10):
        n = int(rng.integers(3, 15))
        y = rng.normal(0.1, 0.3, n)
        lo = rng.uniform(0.0, 0.05, n)
        hi = lo + rng.uniform(0.05, 0.4, n)
        total = lo.sum() + 0.6 * (hi.sum() - lo.sum())
        ours = project_box_sum(y, lo, hi, total)
        ref = minimize(
            lambda w, y=y: 0.5 * np.sum((w - y) ** 2),
            np.clip(y, lo, hi),
            jac=lambda w, y=y: w - y,
            bounds=list(zip(lo, hi, strict=True)),
            constraints=[{"type": "eq", "fun": lambda w, t=total: w.sum() - t}],
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 500},
        )
        np.testing.assert_allclose(ours, ref.x, atol=1e-7)


def test_no_clamp_then_renormalise():
    # clamp-then-renormalise would give [0.5, 0.5] → renormalised breaks the cap; exact keeps it
    w = project_box_sum([0.8, 0.2], [0.0, 0.0], [0.5, 1.0], 1.0)
    np.testing.assert_allclose(w, [0.5, 0.5])
    w = project_box_sum([0.8, 0.1, 0.1], [0.0] * 3, [0.5] * 3, 1.0)
    np.testing.assert_allclose(w, [0.5, 0.25, 0.25])


def test_extremes_return_the_bounds():
    np.testing.assert_array_equal(
        project_box_sum([3.0, -1.0], [0.1, 0.2], [0.5, 0.6], 0.3), [0.1, 0.2]
    )
    np.testing.assert_array_equal(
        project_box_sum([3.0, -1.0], [0.1, 0.2], [0.5, 0.6], 1.1), [0.5, 0.6]
    )


@pytest.mark.parametrize(
    ("lo", "hi", "total"),
    [([0.6, 0.6], [1.0, 1.0], 1.0), ([0.0, 0.0], [0.3, 0.3], 1.0), ([0.5, 0.0], [0.4, 1.0], 0.5)],
)
def test_infeasible_raises(lo, hi, total):
    with pytest.raises(InfeasibleConstraintsError):
        project_box_sum([0.5, 0.5], lo, hi, total)


def test_budget_infeasible_and_bad_input():
    with pytest.raises(InfeasibleConstraintsError, match="exceeds the budget"):
        project_box_budget([0.5, 0.5], [0.6, 0.6], [1.0, 1.0], 1.0)
    with pytest.raises(InvalidInputError):
        project_box_sum([0.5, np.nan], [0.0, 0.0], [1.0, 1.0], 1.0)
    with pytest.raises(InvalidInputError):
        project_box_sum([0.5], [0.0, 0.0], [1.0, 1.0], 1.0)
