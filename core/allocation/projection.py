"""Exact Euclidean projection onto a box with a budget (float statistics).

`project_box_sum` returns argmin ‖w − y‖² subject to lo ≤ w ≤ hi and Σw = total. The
solution is w(τ) = clip(y − τ, lo, hi) for the τ at which Σw(τ) = total; Σw(τ) is piecewise
linear and non-increasing in τ with breakpoints {y − hi, y − lo}, so sorting them finds τ in
O(N log N). `project_box_budget` is the variant with Σw ≤ total (cash allowed): clip to the
box, and only if the clipped sum exceeds the total, project onto Σw = total.

Both are idempotent (projecting a projection changes it by float rounding at most) and never
clamp-then-renormalise. Bounds must be finite.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from core.errors import InfeasibleConstraintsError, InvalidInputError

FloatArray = npt.NDArray[np.float64]

_SUM_TOLERANCE = 1e-12
"""Float sums of Decimal bounds may miss an exact total by rounding; this much is accepted."""


def _as_vectors(
    y: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    yv = np.asarray(y, dtype=np.float64).ravel()
    lov = np.asarray(lo, dtype=np.float64).ravel()
    hiv = np.asarray(hi, dtype=np.float64).ravel()
    if not yv.shape == lov.shape == hiv.shape:
        raise InvalidInputError(
            f"weights and bounds must have the same length, got {yv.size}, {lov.size}, {hiv.size}"
        )
    if not (np.isfinite(yv).all() and np.isfinite(lov).all() and np.isfinite(hiv).all()):
        raise InvalidInputError("weights and bounds must be finite")
    if (lov > hiv).any():
        i = int(np.argmax(lov > hiv))
        raise InfeasibleConstraintsError(f"lower bound {lov[i]} exceeds upper bound {hiv[i]}")
    return yv, lov, hiv


def _excess(z_sorted: FloatArray, taus: FloatArray) -> FloatArray:
    """Σ_i max(z_i − τ, 0) for every τ, given z sorted ascending."""
    suffix = np.zeros(z_sorted.size + 1)
    suffix[:-1] = np.cumsum(z_sorted[::-1])[::-1]
    above = np.searchsorted(z_sorted, taus, side="right")
    count = z_sorted.size - above
    return suffix[above] - count * taus


def _tolerance(total: float) -> float:
    return _SUM_TOLERANCE * max(1.0, abs(total))


def project_box_sum(
    y: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike, total: float
) -> FloatArray:
    """argmin ‖w − y‖² subject to lo ≤ w ≤ hi, Σw = total (exact, O(N log N)).

    Raises `InfeasibleConstraintsError` when Σlo > total or Σhi < total (beyond float
    rounding of the bounds' sum).
    """
    yv, lov, hiv = _as_vectors(y, lo, hi)
    total = float(total)
    lo_sum, hi_sum = float(lov.sum()), float(hiv.sum())
    tol = _tolerance(total)
    if lo_sum - total > tol:
        raise InfeasibleConstraintsError(f"sum of minimums {lo_sum} exceeds the total {total}")
    if total - hi_sum > tol:
        raise InfeasibleConstraintsError(f"sum of maximums {hi_sum} is below the total {total}")
    return sum_projection(yv, lov, hiv, total)


def sum_projection(y: FloatArray, lo: FloatArray, hi: FloatArray, total: float) -> FloatArray:
    """`project_box_sum` for inputs already checked (float64 vectors, lo ≤ hi, feasible)."""
    lo_sum, hi_sum = float(lo.sum()), float(hi.sum())
    if total <= lo_sum:
        return lo.copy()
    if total >= hi_sum:
        return hi.copy()
    if (y >= lo).all() and (y <= hi).all() and float(y.sum()) == total:
        return y.copy()
    upper_bp = y - hi  # below this τ the entry sits at its upper bound
    lower_bp = y - lo  # above this τ the entry sits at its lower bound
    taus = np.sort(np.concatenate((upper_bp, lower_bp)))
    sums = lo_sum + _excess(np.sort(lower_bp), taus) - _excess(np.sort(upper_bp), taus)
    k = int(np.searchsorted(-sums, -total, side="left"))
    k = min(max(k, 1), taus.size - 1)
    drop = sums[k - 1] - sums[k]
    tau = taus[k - 1]
    if drop > 0.0:
        tau += (sums[k - 1] - total) * (taus[k] - taus[k - 1]) / drop
    result: FloatArray = np.clip(y - tau, lo, hi)
    return result


def project_box_budget(
    y: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike, budget: float
) -> FloatArray:
    """argmin ‖w − y‖² subject to lo ≤ w ≤ hi, Σw ≤ budget (exact).

    Raises `InfeasibleConstraintsError` when Σlo > budget.
    """
    yv, lov, hiv = _as_vectors(y, lo, hi)
    budget = float(budget)
    lo_sum = float(lov.sum())
    if lo_sum - budget > _tolerance(budget):
        raise InfeasibleConstraintsError(f"sum of minimums {lo_sum} exceeds the budget {budget}")
    return budget_projection(yv, lov, hiv, budget)


def budget_projection(y: FloatArray, lo: FloatArray, hi: FloatArray, budget: float) -> FloatArray:
    """`project_box_budget` for inputs already checked (float64 vectors, lo ≤ hi, feasible)."""
    clipped: FloatArray = np.clip(y, lo, hi)
    if float(clipped.sum()) <= budget:
        return clipped
    return sum_projection(y, lo, hi, budget)
