"""Risk budgeting (equal risk contribution when budgets are equal), float64.

Spinu (2013): standardise C = D^{-½}ΣD^{-½}, minimise F(y) = ½yᵀCy − Σ b_i ln y_i over y > 0
from y₀ = b/√(bᵀCb) with Newton steps Δ = (C + diag(b/y²))⁻¹(Cy − b/y), backtracking so that
y stays > 0; then x = y/√diag(Σ) and w = x/Σx, whose risk contributions w_i(Σw)_i are
proportional to b.

Bounds lo ≤ w ≤ hi on the normalised weights are homogeneous constraints on x
(lo_i·Σx ≤ x_i ≤ hi_i·Σx), so they enter the same Newton loop as a log-barrier
−μ Σ ln(slack), with μ driven from 1e-2 down to 1e-13: the result is the risk-budgeting
portfolio of the bounded set, not a clipped or projected unconstrained one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from core.allocation.projection import project_box_sum
from core.errors import InfeasibleConstraintsError, InvalidInputError

FloatArray = npt.NDArray[np.float64]

NEWTON_TOLERANCE = 1e-14
"""Stop once the squared Newton decrement gᵀH⁻¹g is below this (that last step is taken)."""
_CENTERING_TOLERANCE = 1e-3
_MAX_NEWTON_STEPS = 100
_BARRIER_START = 1e-2
_BARRIER_END = 1e-13
_BARRIER_FACTOR = 0.1
_BOUND_TOLERANCE = 1e-12

Value = Callable[[FloatArray], float]
Derivatives = Callable[[FloatArray], tuple[FloatArray, FloatArray]]
MaxStep = Callable[[FloatArray, FloatArray], float]


def _newton(
    y: FloatArray, value: Value, derivatives: Derivatives, max_step: MaxStep, tolerance: float
) -> FloatArray:
    """Damped Newton: at most 99 % of the way to the boundary, Armijo while far from the
    optimum, full steps near it."""
    for _ in range(_MAX_NEWTON_STEPS):
        grad, hess = derivatives(y)
        try:
            step = np.asarray(np.linalg.solve(hess, grad), dtype=np.float64)
        except np.linalg.LinAlgError:
            break
        decrement2 = float(grad @ step)
        t = min(1.0, 0.99 * max_step(y, step))
        if decrement2 > 1e-10:
            current = value(y)
            while t > 1e-30 and value(y - t * step) > current - 0.25 * t * decrement2:
                t *= 0.5
        y = y - t * step
        if decrement2 < tolerance:
            break
    return y


def _step_limit(current: FloatArray, decrease: FloatArray) -> float:
    """Largest t with current − t·decrease ≥ 0 (current > 0)."""
    moving = decrease > 0.0
    if not moving.any():
        return np.inf
    return float(np.min(current[moving] / decrease[moving]))


def _positive_step(y: FloatArray, step: FloatArray) -> float:
    return _step_limit(y, step)


def _spinu(c: FloatArray, b: FloatArray) -> FloatArray:
    def value(y: FloatArray) -> float:
        return 0.5 * float(y @ c @ y) - float(b @ np.log(y))

    def derivatives(y: FloatArray) -> tuple[FloatArray, FloatArray]:
        return c @ y - b / y, c + np.diag(b / (y * y))

    y0 = b / np.sqrt(float(b @ c @ b))
    return _newton(y0, value, derivatives, _positive_step, NEWTON_TOLERANCE)


class _Bounds:
    """The binding bounds as slacks a_k·y > 0 with a_k = α_k·v + β_k·e_{i_k}, v = 1/d.

    Upper bound on i: a = hi_i·v − v_i·e_i; lower bound: a = v_i·e_i − lo_i·v. The structure
    keeps the barrier's Hessian Σ a_k a_kᵀ/s_k² at O(N²) per step.
    """

    def __init__(self, d: FloatArray, lo: FloatArray, hi: FloatArray) -> None:
        self.v = 1.0 / d
        upper = np.flatnonzero(hi < 1.0)
        lower = np.flatnonzero(lo > 0.0)
        self.index = np.concatenate((upper, lower))
        self.alpha = np.concatenate((hi[upper], -lo[lower]))
        self.beta = np.concatenate((-self.v[upper], self.v[lower]))

    def slack(self, y: FloatArray) -> FloatArray:
        result: FloatArray = self.alpha * float(self.v @ y) + self.beta * y[self.index]
        return result

    def gradient(self, inv_slack: FloatArray) -> FloatArray:
        """Σ_k a_k / s_k."""
        grad = float(self.alpha @ inv_slack) * self.v
        np.add.at(grad, self.index, self.beta * inv_slack)
        return grad

    def hessian(self, inv_slack: FloatArray) -> FloatArray:
        """Σ_k a_k a_kᵀ / s_k²."""
        w = inv_slack * inv_slack
        n = self.v.size
        p = np.zeros(n)
        np.add.at(p, self.index, w * self.alpha * self.beta)
        q = np.zeros(n)
        np.add.at(q, self.index, w * self.beta * self.beta)
        hess = float(w @ (self.alpha * self.alpha)) * np.outer(self.v, self.v)
        cross = np.outer(self.v, p)
        hess += cross + cross.T
        hess[np.diag_indices(n)] += q
        return hess


def _bounded(
    c: FloatArray, b: FloatArray, d: FloatArray, bounds: _Bounds, start: FloatArray
) -> FloatArray:
    def max_step(y: FloatArray, step: FloatArray) -> float:
        return min(_step_limit(y, step), _step_limit(bounds.slack(y), bounds.slack(step)))

    y = start * d
    y = y * np.sqrt(float(b.sum()) / float(y @ c @ y))
    mu = _BARRIER_START
    while True:
        last = mu < _BARRIER_END * 1.5

        def value(y: FloatArray, mu: float = mu) -> float:
            barrier = mu * float(np.log(bounds.slack(y)).sum())
            return 0.5 * float(y @ c @ y) - float(b @ np.log(y)) - barrier

        def derivatives(y: FloatArray, mu: float = mu) -> tuple[FloatArray, FloatArray]:
            inv = 1.0 / bounds.slack(y)
            grad = c @ y - b / y - mu * bounds.gradient(inv)
            hess = c + np.diag(b / (y * y)) + mu * bounds.hessian(inv)
            return grad, hess

        tolerance = NEWTON_TOLERANCE if last else _CENTERING_TOLERANCE
        y = _newton(y, value, derivatives, max_step, tolerance)
        if last:
            return y
        mu *= _BARRIER_FACTOR


def _check_inputs(cov: npt.ArrayLike, budgets: npt.ArrayLike | None) -> tuple[FloatArray, ...]:
    sigma = np.asarray(cov, dtype=np.float64)
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1] or sigma.shape[0] == 0:
        raise InvalidInputError("covariance must be a non-empty square matrix")
    if not np.isfinite(sigma).all() or (np.diag(sigma) <= 0.0).any():
        raise InvalidInputError("covariance must be finite with a positive diagonal")
    n = sigma.shape[0]
    b = np.full(n, 1.0 / n) if budgets is None else np.asarray(budgets, dtype=np.float64)
    if b.shape != (n,) or not np.isfinite(b).all() or (b <= 0.0).any():
        raise InvalidInputError("risk budgets must be positive, one per strategy")
    return sigma, b / b.sum()


def _normalise(y: FloatArray, d: FloatArray) -> FloatArray:
    x = y / d
    result: FloatArray = x / x.sum()
    return result


def risk_budget_weights(
    cov: npt.ArrayLike,
    budgets: npt.ArrayLike | None = None,
    lo: npt.ArrayLike | None = None,
    hi: npt.ArrayLike | None = None,
) -> FloatArray:
    """Long-only weights summing to 1 whose risk contributions are proportional to
    `budgets` (default equal), with optional bounds lo ≤ w ≤ hi handled inside Newton.

    When the bounds leave no interior (a min equal to its max, or Σlo = 1 or Σhi = 1) the
    fixed weights are forced; the unconstrained solution is then projected onto the bounds.
    """
    sigma, b = _check_inputs(cov, budgets)
    n = b.size
    d = np.sqrt(np.diag(sigma))
    c = sigma / np.outer(d, d)
    free = _normalise(_spinu(c, b), d)
    if lo is None and hi is None:
        return free
    lov = np.zeros(n) if lo is None else np.asarray(lo, dtype=np.float64)
    hiv = np.ones(n) if hi is None else np.minimum(np.asarray(hi, dtype=np.float64), 1.0)
    if lov.shape != (n,) or hiv.shape != (n,):
        raise InvalidInputError("bounds must have one entry per strategy")
    if float(lov.sum()) > 1.0 + _BOUND_TOLERANCE or float(hiv.sum()) < 1.0 - _BOUND_TOLERANCE:
        raise InfeasibleConstraintsError(
            f"bounds sum to [{lov.sum()}, {hiv.sum()}], which excludes a total of 1"
        )
    binding = (hiv < 1.0) | (lov > 0.0)
    if not binding.any() or ((free > lov) & (free < hiv)).all():
        return free
    degenerate = (lov >= hiv).any() or lov.sum() >= 1.0 - 1e-9 or hiv.sum() <= 1.0 + 1e-9
    projected = project_box_sum(free, lov, hiv, 1.0)
    if degenerate:
        return projected
    theta = (1.0 - lov.sum()) / (hiv.sum() - lov.sum())
    centre = lov + theta * (hiv - lov)
    y = _bounded(c, b, d, _Bounds(d, lov, hiv), 0.5 * (projected + centre))
    return _normalise(y, d)
