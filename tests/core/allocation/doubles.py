"""Return-series doubles for allocation tests, and inputs with exact sample moments."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from core.allocation import AllocationConstraints
from core.money import WEIGHT_QUANTUM

CLOCK_END = 10_000
"""Default timestamps end here, so series of different lengths share their newest stamps."""


@dataclass
class Series:
    """A `ReturnSeries`: returns oldest first, timestamps end-aligned by default."""

    strategy_id: str
    returns: np.ndarray
    timestamps: tuple[object, ...] | None = None
    periods_per_year: int = 252
    current_drawdown: float = 0.0
    max_drawdown: float = 0.0
    trough_drawdown: float = 0.0

    def returns_array(self, n: int | None = None) -> np.ndarray:
        r = np.asarray(self.returns, dtype=np.float64)
        if n is not None:
            r = r[r.size - min(n, r.size) :]
        return r.copy()

    @property
    def return_timestamps(self) -> tuple[object, ...]:
        if self.timestamps is not None:
            return self.timestamps
        size = len(self.returns)
        return tuple(range(CLOCK_END - size, CLOCK_END))


def exact_moments(cov: np.ndarray, mean: np.ndarray, periods: int, seed: int = 0) -> np.ndarray:
    """periods×N returns whose sample mean and sample covariance (ddof 1) are exactly
    `mean` and `cov` (to float rounding)."""
    rng = np.random.default_rng(seed)
    n = len(mean)
    z = rng.standard_normal((periods, n))
    z -= z.mean(axis=0)
    whitening = np.linalg.cholesky(z.T @ z / (periods - 1))
    white = np.linalg.solve(whitening, z.T).T
    return white @ np.linalg.cholesky(cov).T + mean


def book(matrix: np.ndarray, prefix: str = "s") -> dict[str, Series]:
    """One series per column of a T×N matrix, ids s0, s1, …"""
    return {
        f"{prefix}{j}": Series(f"{prefix}{j}", matrix[:, j].copy()) for j in range(matrix.shape[1])
    }


def correlated_returns(n: int, periods: int, seed: int) -> np.ndarray:
    """periods×n returns with a random factor structure and distinct volatilities."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((periods, 3)) * 0.01
    loadings = rng.uniform(-1.0, 1.0, (3, n))
    noise = rng.standard_normal((periods, n)) * rng.uniform(0.005, 0.03, n)
    drift = rng.uniform(-0.0005, 0.001, n)
    return factors @ loadings + noise + drift


def assert_valid(
    weights: dict[str, Decimal], ids: list[str], constraints: AllocationConstraints
) -> None:
    """The contract every algorithm's output meets, checked in exact Decimal arithmetic."""
    assert list(weights) == ids
    for sid, w in weights.items():
        assert isinstance(w, Decimal)
        assert w % WEIGHT_QUANTUM == 0, (sid, w)
        assert constraints.min_for(sid) <= w <= constraints.max_for(sid), (sid, w)
    assert sum(weights.values(), Decimal(0)) <= constraints.max_total


def as_floats(weights: dict[str, Decimal]) -> np.ndarray:
    return np.array([float(w) for w in weights.values()])
