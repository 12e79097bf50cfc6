"""`KellyCriterionAllocation`: growth-optimal fractions, cash kept for what has no edge.

Single-strategy Kelly (default): f_i = c·μ_i/σ_i² with c = `kelly_fraction`, μ and σ² the
per-period mean and variance of the strategy's lookback returns (the ratio does not depend on
the period). Negative edges give 0; the fractions are scaled down only if they sum above the
budget, and whatever is not bet stays in the reserve. Bounds are then applied by the exact
projection onto {min ≤ f ≤ max, Σf ≤ max_total}.

Multivariate Kelly (`use_covariance=True`): maximise fᵀμ − (1/(2c))fᵀΣf over the same set on
the timestamp-aligned returns (`core.allocation.kelly_qp`); correlations count, and a strategy
with a negative mean may hold weight if it hedges the others.

New and constant strategies get 0 (their minimum bound if it is higher): without a measured
edge there is no bet; with no established strategy everything stays in cash.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from core.allocation.base import (
    BoolArray,
    FloatArray,
    QuantizedAllocation,
    ReturnSeries,
    check_window,
    observe,
    positive_float,
    resolve_min_observations,
)
from core.allocation.constraints import AllocationConstraints
from core.allocation.covariance import established_returns, estimate_covariance, parse_shrinkage
from core.allocation.kelly_qp import kelly_qp
from core.allocation.projection import budget_projection
from core.money import Number

HALF_KELLY = Decimal("0.5")
DEFAULT_MIN_VARIANCE = Decimal("0.0001")


class KellyCriterionAllocation(QuantizedAllocation):
    """Fractional Kelly sizing (seed signature plus keyword options).

    Args:
        lookback_window: returns used for μ and σ².
        kelly_fraction: c, the fraction of full Kelly (0.5 = half Kelly).
        min_variance: floor on the annualised variance σ²·periods_per_year (single-strategy
            mode), so a nearly flat strategy cannot claim an enormous fraction.
        constraints: bounds and budget (applied by projection / inside the QP).
        use_covariance: solve the multivariate Kelly QP instead.
        shrinkage: Ledoit–Wolf covariance in multivariate mode (True or "ledoit_wolf").
        min_observations: fewer returns than this make a strategy new (no bet).
    """

    def __init__(
        self,
        lookback_window: int = 252,
        kelly_fraction: Number = HALF_KELLY,
        min_variance: Number = DEFAULT_MIN_VARIANCE,
        constraints: AllocationConstraints | None = None,
        *,
        use_covariance: bool = False,
        shrinkage: bool | str = False,
        min_observations: int | None = None,
    ) -> None:
        super().__init__(constraints)
        self.lookback_window = check_window(lookback_window)
        self.min_observations = resolve_min_observations(min_observations, lookback_window)
        self.kelly_fraction = positive_float(kelly_fraction, "kelly_fraction")
        self.min_variance = positive_float(min_variance, "min_variance", allow_zero=True)
        self.use_covariance = bool(use_covariance)
        self.shrinkage = parse_shrinkage(shrinkage)

    def _weights(self, ids: list[str], series: list[ReturnSeries]) -> FloatArray:
        lo, hi = self.constraints.bounds(ids)
        budget = float(self.constraints.max_total)
        obs = observe(series, self.lookback_window, self.min_observations)
        if self.use_covariance:
            raw = self._multivariate(series, obs.usable, lo, hi, budget)
        else:
            raw = self._single(series, obs.returns, obs.usable)
            total = float(raw.sum())
            if total > budget:
                raw *= budget / total
        return budget_projection(raw, lo, hi, budget)

    def _single(
        self, series: list[ReturnSeries], returns: list[FloatArray], usable: BoolArray
    ) -> FloatArray:
        raw = np.zeros(len(series))
        for i in np.flatnonzero(usable):
            r = returns[i]
            floor = self.min_variance / float(series[i].periods_per_year)
            variance = max(float(r.var(ddof=1)), floor)
            raw[i] = max(0.0, self.kelly_fraction * float(r.mean()) / variance)
        return raw

    def _multivariate(
        self,
        series: list[ReturnSeries],
        usable: BoolArray,
        lo: FloatArray,
        hi: FloatArray,
        budget: float,
    ) -> FloatArray:
        mask, returns = established_returns(
            series, usable, self.lookback_window, self.min_observations
        )
        raw = lo.copy()
        if mask.any():
            cov = estimate_covariance(returns, self.shrinkage)
            rest = budget - float(lo[~mask].sum())
            raw[mask] = kelly_qp(
                cov, returns.mean(axis=0), self.kelly_fraction, lo[mask], hi[mask], rest
            )
        return raw
