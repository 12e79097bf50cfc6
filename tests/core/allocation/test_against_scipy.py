"""ERC, risk budgets, bounded ERC, multivariate Kelly and HRP against scipy (independent)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.optimize import minimize
from scipy.spatial.distance import squareform

from core.allocation import hrp_weights, kelly_qp, risk_budget_weights
from core.allocation.hrp import correlation_distance, leaf_order, single_linkage

SEEDS = range(8)


def random_cov(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 31))
    a = rng.standard_normal((n, n + 5))
    corr = a @ a.T
    d = np.sqrt(np.diag(corr))
    corr = corr / np.outer(d, d)
    vols = rng.uniform(0.05, 0.4, n)
    return corr * np.outer(vols, vols)


def _slsqp(fun, jac, x0, bounds, constraints):
    result = minimize(
        fun,
        x0,
        jac=jac,
        bounds=bounds,
        constraints=constraints,
        method="SLSQP",
        options={"ftol": 1e-16, "maxiter": 2000},
    )
    return result.x


def _scipy_risk_budgets(cov, b, lo=None, hi=None):
    """min ½xᵀΣx − Σ b ln x over x > 0, lo·Σx ≤ x ≤ hi·Σx, then normalise."""
    n = len(b)
    cons = []
    if hi is not None:
        cons.append(
            {
                "type": "ineq",
                "fun": lambda x: hi * x.sum() - x,
                "jac": lambda x: np.outer(hi, np.ones(n)) - np.eye(n),
            }
        )
    if lo is not None:
        cons.append(
            {
                "type": "ineq",
                "fun": lambda x: x - lo * x.sum(),
                "jac": lambda x: np.eye(n) - np.outer(lo, np.ones(n)),
            }
        )
    x0 = 1.0 / np.sqrt(np.diag(cov))
    x0 = x0 / np.sqrt(x0 @ cov @ x0)
    x = _slsqp(
        lambda x: 0.5 * x @ cov @ x - b @ np.log(x),
        lambda x: cov @ x - b / x,
        x0,
        [(1e-10, None)] * n,
        cons,
    )
    return x / x.sum()


def _scaled_objective(cov, b, w):
    """min over t > 0 of ½(tw)ᵀΣ(tw) − Σ b ln(t w): compares directions fairly."""
    t = np.sqrt(b.sum() / (w @ cov @ w))
    return 0.5 * b.sum() - b @ np.log(t * w)


@pytest.mark.parametrize("seed", SEEDS)
def test_erc_matches_scipy(seed):
    cov = random_cov(seed)
    n = cov.shape[0]
    b = np.full(n, 1.0 / n)
    w = risk_budget_weights(cov)
    rc = w * (cov @ w)
    np.testing.assert_allclose(rc / rc.sum(), b, atol=1e-12)
    np.testing.assert_allclose(w, _scipy_risk_budgets(cov, b), atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_risk_budgets_match_scipy(seed):
    cov = random_cov(seed)
    n = cov.shape[0]
    b = np.random.default_rng(seed + 100).uniform(0.2, 3.0, n)
    b = b / b.sum()
    w = risk_budget_weights(cov, b)
    rc = w * (cov @ w)
    np.testing.assert_allclose(rc / rc.sum(), b, atol=1e-12)
    np.testing.assert_allclose(w, _scipy_risk_budgets(cov, b), atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_bounded_erc_matches_scipy(seed):
    cov = random_cov(seed)
    n = cov.shape[0]
    rng = np.random.default_rng(seed + 200)
    free = risk_budget_weights(cov)
    hi = np.where(rng.random(n) < 0.5, free * rng.uniform(0.6, 0.95, n), 1.0)
    lo = np.where(rng.random(n) < 0.3, np.minimum(free * rng.uniform(1.05, 1.3, n), hi * 0.99), 0.0)
    if lo.sum() >= 1 or hi.sum() <= 1:
        pytest.skip("random bounds infeasible")
    b = np.full(n, 1.0 / n)
    w = risk_budget_weights(cov, None, lo, hi)
    assert (w <= hi + 1e-10).all() and (w >= lo - 1e-10).all()
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    ref = _scipy_risk_budgets(cov, b, lo, hi)
    assert _scaled_objective(cov, b, w) <= _scaled_objective(cov, b, ref) + 1e-9
    np.testing.assert_allclose(w, ref, atol=1e-5)
    # a bound actually binds, so this is not the unconstrained answer
    assert np.abs(w - free).max() > 1e-4


def _scipy_kelly(cov, mu, c, lo, hi, budget):
    n = len(mu)
    return _slsqp(
        lambda f: -(f @ mu) + f @ cov @ f / (2 * c),
        lambda f: -mu + cov @ f / c,
        np.clip(np.full(n, budget / n), lo, hi),
        list(zip(lo, hi, strict=True)),
        [{"type": "ineq", "fun": lambda f: budget - f.sum(), "jac": lambda f: -np.ones(n)}],
    )


def _kelly_objective(cov, mu, c, f):
    return f @ mu - f @ cov @ f / (2 * c)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("c", "cap"), [(0.5, 1.0), (1.0, 0.3), (0.25, 0.15)])
def test_multivariate_kelly_matches_scipy(seed, c, cap):
    cov = random_cov(seed)
    n = cov.shape[0]
    mu = np.random.default_rng(seed + 300).normal(0.01, 0.03, n)
    lo, hi = np.zeros(n), np.full(n, cap)
    f = kelly_qp(cov, mu, c, lo, hi, 1.0)
    assert (f >= lo).all() and (f <= hi).all() and f.sum() <= 1.0 + 1e-12
    ref = _scipy_kelly(cov, mu, c, lo, hi, 1.0)
    assert _kelly_objective(cov, mu, c, f) >= _kelly_objective(cov, mu, c, ref) - 1e-12
    np.testing.assert_allclose(f, ref, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_kelly_with_lower_bounds_and_shorts(seed):
    cov = random_cov(seed)
    n = cov.shape[0]
    rng = np.random.default_rng(seed + 400)
    mu = rng.normal(0.0, 0.03, n)
    lo, hi = np.full(n, -0.2), np.full(n, 0.4)
    f = kelly_qp(cov, mu, 1.0, lo, hi, 1.0)
    ref = _scipy_kelly(cov, mu, 1.0, lo, hi, 1.0)
    assert _kelly_objective(cov, mu, 1.0, f) >= _kelly_objective(cov, mu, 1.0, ref) - 1e-12
    np.testing.assert_allclose(f, ref, atol=1e-5)


def _reference_hrp(cov, order):
    w = np.ones(len(order))
    clusters = [list(order)]
    while clusters:
        clusters = [
            c[j:k]
            for c in clusters
            for j, k in ((0, len(c) // 2), (len(c) // 2, len(c)))
            if len(c) > 1
        ]
        for i in range(0, len(clusters), 2):
            parts = clusters[i], clusters[i + 1]
            var = []
            for part in parts:
                sub = cov[np.ix_(part, part)]
                ivp = 1 / np.diag(sub)
                ivp /= ivp.sum()
                var.append(ivp @ sub @ ivp)
            alpha = 1 - var[0] / (var[0] + var[1])
            w[parts[0]] *= alpha
            w[parts[1]] *= 1 - alpha
    return w


@pytest.mark.parametrize("seed", SEEDS)
def test_hrp_matches_scipy_linkage(seed):
    cov = random_cov(seed)
    d = np.sqrt(np.diag(cov))
    dist = np.sqrt(np.clip((1 - cov / np.outer(d, d)) / 2, 0, 1))
    np.fill_diagonal(dist, 0)
    z = linkage(squareform(dist, checks=False), method="single")
    ours = single_linkage(correlation_distance(cov))
    np.testing.assert_allclose(ours[:, 2], z[:, 2], atol=1e-12)
    np.testing.assert_array_equal(ours[:, [0, 1, 3]], z[:, [0, 1, 3]])
    order = leaves_list(z)
    assert leaf_order(ours) == list(order)
    np.testing.assert_allclose(hrp_weights(cov), _reference_hrp(cov, order), atol=1e-14)


def test_single_linkage_ties_are_deterministic():
    dist = np.ones((5, 5)) - np.eye(5)
    first = single_linkage(dist)
    np.testing.assert_array_equal(first[:, :2], [[0, 1], [2, 5], [3, 6], [4, 7]])
    assert leaf_order(first) == [4, 3, 2, 0, 1]
    np.testing.assert_array_equal(single_linkage(dist), first)
    np.testing.assert_allclose(hrp_weights(np.eye(5) * 0.04), np.full(5, 0.2), atol=1e-15)
