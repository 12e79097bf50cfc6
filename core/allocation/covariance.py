"""Covariance estimation on timestamp-aligned returns (float64).

- `aligned_returns`: a T×N matrix of the most recent `lookback_window` timestamps common to
  every series (series are aligned by timestamp, never by tail length).
- `sample_covariance`: ddof 1.
- `ledoit_wolf_covariance`: shrinkage toward m·I with S = XᵀX/T (X centred), m = tr(S)/N,
  d² = ‖S − mI‖²_F, b̄² = (1/T²)Σ_t‖x_t x_tᵀ − S‖²_F, δ = min(b̄², d²)/d²,
  Σ = (1 − δ)S + δ·m·I.
- `estimate_covariance`: the sample covariance, or Ledoit–Wolf when asked for — and always
  when the sample covariance is singular (no more observations than strategies, or a failed
  Cholesky factorisation), since ERC and Kelly are ill-posed on a singular matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from core.allocation.base import constant_columns
from core.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]

SHRINKAGE_METHODS = ("ledoit_wolf",)


class _Aligned(Protocol):
    def returns_array(self, n: int | None = None) -> FloatArray: ...

    @property
    def return_timestamps(self) -> tuple[object, ...]: ...


def parse_shrinkage(shrinkage: bool | str | None) -> bool:
    """True/"ledoit_wolf" → Ledoit–Wolf; False/None/"none" → sample covariance."""
    if shrinkage is None or shrinkage is False or shrinkage == "none":
        return False
    if shrinkage is True or shrinkage in SHRINKAGE_METHODS:
        return True
    raise InvalidInputError(
        f"shrinkage must be a bool, 'none' or one of {SHRINKAGE_METHODS}, got {shrinkage!r}"
    )


def aligned_returns(series: Sequence[_Aligned], lookback_window: int) -> FloatArray:
    """T×N returns at the most recent `lookback_window` timestamps common to all series."""
    stamps = [s.return_timestamps for s in series]
    arrays = [np.asarray(s.returns_array(None), dtype=np.float64) for s in series]
    for st, arr in zip(stamps, arrays, strict=True):
        if len(st) != arr.size:
            raise InvalidInputError("return_timestamps must align with returns_array(None)")
    if not series:
        return np.zeros((0, 0))
    first = stamps[0]
    if all(st == first for st in stamps[1:]):
        keep = min(lookback_window, len(first))
        return np.column_stack([a[a.size - keep :] for a in arrays])
    common = set(first).intersection(*stamps[1:])
    order = [t for t in first if t in common]
    order = order[max(0, len(order) - lookback_window) :]
    if not order:
        return np.zeros((0, len(series)))
    columns = []
    for st, arr in zip(stamps, arrays, strict=True):
        position = {t: i for i, t in enumerate(st)}
        columns.append(arr[[position[t] for t in order]])
    return np.column_stack(columns)


def sample_covariance(returns: FloatArray) -> FloatArray:
    """Sample covariance (ddof 1) of a T×N matrix, T ≥ 2."""
    x = np.asarray(returns, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise InvalidInputError("covariance needs a T×N matrix with T >= 2")
    centred = x - x.mean(axis=0)
    cov = centred.T @ centred / (x.shape[0] - 1)
    result: FloatArray = (cov + cov.T) / 2.0
    return result


def ledoit_wolf_covariance(returns: FloatArray) -> FloatArray:
    """Ledoit–Wolf shrinkage toward m·I (formula in the module docstring)."""
    x = np.asarray(returns, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise InvalidInputError("covariance needs a T×N matrix with T >= 2")
    t, n = x.shape
    centred = x - x.mean(axis=0)
    s = centred.T @ centred / t
    s = (s + s.T) / 2.0
    m = float(np.trace(s)) / n
    target_gap = s - m * np.eye(n)
    d2 = float(np.sum(target_gap * target_gap))
    if d2 <= 0.0:
        return np.asarray(s, dtype=np.float64)
    # Σ_t ‖x_t x_tᵀ − S‖² = Σ_t ‖x_t‖⁴ − T‖S‖² because Σ_t x_tᵀ S x_t = T·tr(S²).
    norms2 = np.sum(centred * centred, axis=1)
    b2 = (float(np.sum(norms2 * norms2)) - t * float(np.sum(s * s))) / (t * t)
    delta = min(max(b2, 0.0), d2) / d2
    result: FloatArray = (1.0 - delta) * s + delta * m * np.eye(n)
    return result


def estimate_covariance(returns: FloatArray, shrinkage: bool) -> FloatArray:
    """Sample covariance, or Ledoit–Wolf if `shrinkage` or the sample one is singular."""
    t, n = returns.shape
    if shrinkage or t <= n:
        return ledoit_wolf_covariance(returns)
    cov = sample_covariance(returns)
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return ledoit_wolf_covariance(returns)
    return cov


def established_returns(
    series: Sequence[_Aligned],
    usable: npt.NDArray[np.bool_],
    lookback_window: int,
    min_observations: int,
) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """(which strategies enter the covariance, their aligned T×K returns).

    Starts from the `usable` strategies, aligns them by timestamp, and drops those that are
    constant on the common window; with fewer than `min_observations` common timestamps none
    enters.
    """
    mask = np.array(usable, dtype=np.bool_)
    index = np.flatnonzero(mask)
    if index.size == 0:
        return mask, np.zeros((0, 0))
    x = aligned_returns([series[int(i)] for i in index], lookback_window)
    if x.shape[0] < max(2, min_observations):
        mask[:] = False
        return mask, np.zeros((0, 0))
    keep = ~constant_columns(x)
    mask[index[~keep]] = False
    return mask, x[:, keep]
