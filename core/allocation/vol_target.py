"""`VolatilityTargeting`: scale another algorithm's weights toward a target volatility."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import numpy as np

from core.allocation.base import (
    AllocationAlgorithm,
    FloatArray,
    ReturnSeries,
    check_window,
    observe,
    positive_float,
    resolve_min_observations,
    strategy_ids,
)
from core.allocation.constraints import AllocationConstraints
from core.allocation.covariance import (
    aligned_returns,
    ledoit_wolf_covariance,
    parse_shrinkage,
    sample_covariance,
)
from core.errors import InvalidInputError
from core.money import Number, in_fund_decimals


class VolatilityTargeting(AllocationAlgorithm):
    """w = k·w_inner with k = min(k_max, σ_target/σ̂_p), σ̂_p = √(wᵀΣw·A).

    Σ is the covariance (sample, or Ledoit–Wolf with `shrinkage`) of the timestamp-aligned
    lookback returns of the established strategies the inner algorithm invests in, A their
    `periods_per_year` (which must agree). k_max = budget/Σw
    (never more than fully invested), further capped by `max_leverage` when given; so the
    result always sums to at most `constraints.max_total`. Unknown risk never justifies
    scaling up: if an invested strategy has fewer than `min_observations` returns, or the
    aligned window is that short, k ≤ 1. The wrapper's own `constraints` (default: [0, 1],
    Σ ≤ 1) are applied to the scaled weights by exact projection with Σ ≤ budget.
    """

    def __init__(
        self,
        inner_algorithm: AllocationAlgorithm,
        target_volatility: Number,
        max_leverage: Number | None = None,
        lookback_window: int = 252,
        *,
        shrinkage: bool | str = False,
        min_observations: int | None = None,
        constraints: AllocationConstraints | None = None,
    ) -> None:
        if constraints is not None and not isinstance(constraints, AllocationConstraints):
            raise InvalidInputError("constraints must be an AllocationConstraints")
        self.constraints = constraints if constraints is not None else AllocationConstraints()
        if not isinstance(inner_algorithm, AllocationAlgorithm):
            raise InvalidInputError("inner_algorithm must be an AllocationAlgorithm")
        self.inner_algorithm = inner_algorithm
        self.target_volatility = positive_float(target_volatility, "target_volatility")
        self.max_leverage = (
            None if max_leverage is None else positive_float(max_leverage, "max_leverage")
        )
        self.lookback_window = check_window(lookback_window)
        self.min_observations = resolve_min_observations(min_observations, lookback_window)
        self.shrinkage = parse_shrinkage(shrinkage)

    @in_fund_decimals
    def calculate_allocations(self, strategies: Mapping[str, ReturnSeries]) -> dict[str, Decimal]:
        ids = strategy_ids(strategies)
        if not ids:
            return {}
        self.constraints.check_feasible(ids)
        inner = self.inner_algorithm.calculate_allocations(strategies)
        weights = np.array([float(inner.get(s, 0)) for s in ids])
        scaled = weights * self.scale_factor(weights, [strategies[s] for s in ids])
        projected = self.constraints.project_within_budget(scaled, ids)
        return self.constraints.quantize(ids, projected.tolist())

    def scale_factor(self, weights: FloatArray, series: list[ReturnSeries]) -> float:
        """k for float `weights` over `series` (see the class docstring)."""
        total = float(weights.sum())
        if total <= 0.0:
            return 1.0
        k_max = float(self.constraints.max_total) / total
        if self.max_leverage is not None:
            k_max = min(k_max, self.max_leverage)
        invested = np.flatnonzero(weights > 0.0)
        chosen = [series[i] for i in invested]
        new = observe(chosen, self.lookback_window, self.min_observations).new
        if new.any():
            k_max = min(k_max, 1.0)
        known = invested[~new]
        returns = aligned_returns([series[i] for i in known], self.lookback_window)
        if known.size == 0 or returns.shape[0] < max(2, self.min_observations):
            return min(k_max, 1.0)
        periods = {float(series[i].periods_per_year) for i in known}
        if len(periods) != 1:
            raise InvalidInputError(f"strategies disagree on periods_per_year: {sorted(periods)}")
        estimator = ledoit_wolf_covariance if self.shrinkage else sample_covariance
        w = weights[known]
        variance = float(w @ estimator(returns) @ w) * periods.pop()
        if variance <= 0.0:
            return k_max
        return min(k_max, self.target_volatility / float(np.sqrt(variance)))
