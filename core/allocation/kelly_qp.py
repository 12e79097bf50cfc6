"""Multivariate (fractional) Kelly as a bounded QP, float64.

maximise fᵀμ − (1/(2c))·fᵀΣf subject to lo ≤ f ≤ hi and Σf ≤ budget (the rest is cash).

FISTA (accelerated projected gradient, step 1/L with L = λmax(Σ)/c, adaptive restart) using
the exact projection onto {lo ≤ f ≤ hi, Σf ≤ budget}. Every few iterations the active set of
the iterate (entries at a bound, whether the budget binds) is tried: the KKT system of the
free entries is solved exactly, and the result is accepted only if it satisfies every KKT
condition (feasibility, multiplier signs). So the answer is exact once FISTA has found the
active set, and FISTA's answer otherwise. Negative edges are never "clipped then rescaled":
a strategy with a negative mean may carry weight if it hedges the others.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from core.allocation.projection import budget_projection
from core.errors import InfeasibleConstraintsError, InvalidInputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_MAX_ITERATIONS = 5000
_POLISH_EVERY = 10
_STEP_TOLERANCE = 1e-15
_KKT_TOLERANCE = 1e-9


def _check(
    cov: npt.ArrayLike, mu: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    sigma = np.asarray(cov, dtype=np.float64)
    m = np.asarray(mu, dtype=np.float64).ravel()
    n = m.size
    lov = np.asarray(lo, dtype=np.float64).ravel()
    hiv = np.asarray(hi, dtype=np.float64).ravel()
    if sigma.shape != (n, n) or lov.shape != (n,) or hiv.shape != (n,):
        raise InvalidInputError("covariance, means and bounds must have matching sizes")
    arrays = (sigma, m, lov, hiv)
    if not all(np.isfinite(a).all() for a in arrays):
        raise InvalidInputError("covariance, means and bounds must be finite")
    if (lov > hiv).any():
        raise InfeasibleConstraintsError("a lower bound exceeds its upper bound")
    return sigma, m, lov, hiv


def _multiplier_range(
    grad: FloatArray, at_lo: BoolArray, at_hi: BoolArray, budget_binds: bool
) -> tuple[float, float]:
    """Feasible ν for fixed entries: g_i + ν ≥ 0 at lo, g_i + ν ≤ 0 at hi, ν ≥ 0."""
    low = max(0.0, float(np.max(-grad[at_lo], initial=-np.inf)))
    high = float(np.min(-grad[at_hi], initial=np.inf)) if budget_binds else 0.0
    return low, high


def _polish(
    sigma_c: FloatArray,
    mu: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    budget: float,
    x: FloatArray,
) -> FloatArray | None:
    """The exact optimum for the active set of `x`, or None if it fails the KKT test."""
    at_lo = x <= lo
    at_hi = (x >= hi) & ~at_lo
    free = ~(at_lo | at_hi)
    budget_binds = float(x.sum()) >= budget - 1e-12 * max(1.0, abs(budget))
    f = np.where(at_lo, lo, np.where(at_hi, hi, 0.0))
    idx = np.flatnonzero(free)
    k = idx.size
    nu = 0.0
    if k:
        a = sigma_c[np.ix_(idx, idx)]
        rhs = mu[idx] - sigma_c[idx] @ f
        try:
            if budget_binds:
                kkt = np.zeros((k + 1, k + 1))
                kkt[:k, :k] = a
                kkt[:k, k] = kkt[k, :k] = 1.0
                sol = np.linalg.solve(kkt, np.append(rhs, budget - f.sum()))
                f[idx], nu = sol[:k], float(sol[k])
            else:
                f[idx] = np.linalg.solve(a, rhs)
        except np.linalg.LinAlgError:
            return None
    grad = sigma_c @ f - mu
    tol = _KKT_TOLERANCE * max(
        float(np.abs(mu).max(initial=0.0)), float(np.abs(grad).max()), 1e-300
    )
    if k == 0:
        low, high = _multiplier_range(grad, at_lo, at_hi, budget_binds)
        if low > high + tol:
            return None
        nu = low
    elif nu < -tol:
        return None
    ok = (
        (f[idx] >= lo[idx] - 1e-12).all()
        and (f[idx] <= hi[idx] + 1e-12).all()
        and float(f.sum()) <= budget + 1e-12
        and (grad[at_lo] + nu >= -tol).all()
        and (grad[at_hi] + nu <= tol).all()
    )
    return np.clip(f, lo, hi) if ok else None


def kelly_qp(
    cov: npt.ArrayLike,
    mu: npt.ArrayLike,
    fraction: float,
    lo: npt.ArrayLike,
    hi: npt.ArrayLike,
    budget: float,
) -> FloatArray:
    """argmax fᵀμ − (1/(2·fraction))·fᵀΣf subject to lo ≤ f ≤ hi, Σf ≤ budget."""
    sigma, m, lov, hiv = _check(cov, mu, lo, hi)
    if not fraction > 0.0:
        raise InvalidInputError(f"Kelly fraction must be > 0, got {fraction}")
    if float(lov.sum()) > budget * (1.0 + 1e-12) + 1e-12:
        raise InfeasibleConstraintsError(f"minimums sum to {lov.sum()}, above the budget {budget}")
    sigma_c = sigma / fraction
    lipschitz = float(np.linalg.eigvalsh(sigma_c)[-1])
    if not lipschitz > 0.0:
        raise InvalidInputError("covariance must have a positive eigenvalue")
    try:
        start = np.asarray(np.linalg.solve(sigma_c, m), dtype=np.float64)
    except np.linalg.LinAlgError:
        start = np.zeros(m.size)
    x = budget_projection(start, lov, hiv, budget)
    y = x
    t = 1.0
    for k in range(_MAX_ITERATIONS):
        x_new = budget_projection(y - (sigma_c @ y - m) / lipschitz, lov, hiv, budget)
        diff = x_new - x
        converged = float(np.abs(diff).max()) <= _STEP_TOLERANCE * max(
            1.0, float(np.abs(x_new).max())
        )
        if converged or k % _POLISH_EVERY == 0:
            exact = _polish(sigma_c, m, lov, hiv, budget, x_new)
            if exact is not None:
                return exact
        if converged:
            return x_new
        if float((y - x_new) @ diff) > 0.0:
            t, y = 1.0, x_new
        else:
            t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
            y = x_new + ((t - 1.0) / t_next) * diff
            t = t_next
        x = x_new
    return x
