"""`RiskParityAllocation`: inverse-volatility weights (naive risk parity).

Inverse volatility equalises risk contributions only when all correlations are equal; for
correlation-aware risk parity use `EqualRiskContributionAllocation`.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt

from core.allocation.base import (
    FloatArray,
    QuantizedAllocation,
    ReturnSeries,
    check_window,
    neutral_weights,
    observe,
    positive_float,
    resolve_min_observations,
)
from core.allocation.constraints import AllocationConstraints
from core.errors import InvalidInputError
from core.money import Number

DEFAULT_MIN_VOLATILITY = Decimal("0.001")


def inverse_volatility_weights(volatilities: npt.ArrayLike) -> FloatArray:
    """w_i ∝ 1/σ_i, summing to 1 (σ_i > 0)."""
    sigma = np.asarray(volatilities, dtype=np.float64)
    if sigma.ndim != 1 or sigma.size == 0 or not (np.isfinite(sigma) & (sigma > 0.0)).all():
        raise InvalidInputError("volatilities must be a non-empty vector of positive numbers")
    inverse = 1.0 / sigma
    result: FloatArray = inverse / inverse.sum()
    return result


class RiskParityAllocation(QuantizedAllocation):
    """w_i ∝ 1/σ_i, σ_i the annualised volatility over the lookback window.

    `min_volatility` is a floor on the annualised volatility of established strategies. New
    strategies (fewer than `min_observations` returns) and constant ones, whose volatility
    is unknown or zero, get the neutral share total/N rather than an inverse volatility, so a
    short history never takes the fund. Bounds are applied by exact projection
    (Σw = min(max_total, Σ max)).
    """

    def __init__(
        self,
        lookback_window: int = 252,
        min_volatility: Number = DEFAULT_MIN_VOLATILITY,
        constraints: AllocationConstraints | None = None,
        *,
        min_observations: int | None = None,
    ) -> None:
        super().__init__(constraints)
        self.lookback_window = check_window(lookback_window)
        self.min_observations = resolve_min_observations(min_observations, lookback_window)
        self.min_volatility = positive_float(min_volatility, "min_volatility", allow_zero=True)

    def _weights(self, ids: list[str], series: list[ReturnSeries]) -> FloatArray:
        obs = observe(series, self.lookback_window, self.min_observations)
        usable = obs.usable
        scores = np.zeros(len(ids))
        if usable.any():
            vols = np.array(
                [
                    max(
                        float(obs.returns[i].std(ddof=1)) * np.sqrt(series[i].periods_per_year),
                        self.min_volatility,
                    )
                    for i in np.flatnonzero(usable)
                ]
            )
            scores[usable] = inverse_volatility_weights(vols)
        total = float(self.constraints.investable_total(ids))
        return self.constraints.project(neutral_weights(usable, scores, total), ids)
