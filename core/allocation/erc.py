"""`EqualRiskContributionAllocation`: equal risk contributions, or given risk budgets.

Unlike inverse volatility, ERC accounts for correlations: each strategy's contribution
w_i(Σw)_i to the portfolio variance is the same (or proportional to its risk budget). The
solver is `core.allocation.risk_budgeting` (Spinu's Newton method, bounds as a log-barrier
inside the Newton loop).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.allocation.base import (
    FloatArray,
    QuantizedAllocation,
    ReturnSeries,
    check_window,
    neutral_weights,
    observe,
    positive_float,
    resolve_min_observations,
    split_budget,
)
from core.allocation.constraints import AllocationConstraints
from core.allocation.covariance import established_returns, estimate_covariance, parse_shrinkage
from core.allocation.risk_budgeting import risk_budget_weights
from core.errors import InvalidInputError


class EqualRiskContributionAllocation(QuantizedAllocation):
    """Risk budgeting on the timestamp-aligned covariance of the established strategies.

    Args:
        lookback_window: returns (common timestamps) used for the covariance.
        risk_budgets: optional relative risk budgets per strategy id (> 0); established
            strategies missing from it get the mean of the given budgets. Default: equal.
        shrinkage: True or "ledoit_wolf" for Ledoit–Wolf shrinkage (always used when the
            sample covariance is singular).
        constraints: bounds, enforced inside the Newton loop.
        min_observations: fewer returns than this make a strategy new (neutral share).

    New and constant strategies get the neutral share total/N; the established ones are
    risk-budgeted over the rest, so Σw = min(max_total, Σ max).
    """

    def __init__(
        self,
        lookback_window: int = 252,
        risk_budgets: Mapping[str, object] | None = None,
        shrinkage: bool | str = False,
        constraints: AllocationConstraints | None = None,
        *,
        min_observations: int | None = None,
    ) -> None:
        super().__init__(constraints)
        self.lookback_window = check_window(lookback_window)
        self.min_observations = resolve_min_observations(min_observations, lookback_window)
        self.shrinkage = parse_shrinkage(shrinkage)
        self.risk_budgets: dict[str, float] | None = None
        if risk_budgets is not None:
            if not isinstance(risk_budgets, Mapping) or not risk_budgets:
                raise InvalidInputError("risk_budgets must be a non-empty mapping id -> budget")
            self.risk_budgets = {
                sid: positive_float(v, f"risk_budgets[{sid!r}]") for sid, v in risk_budgets.items()
            }

    def _budgets(self, ids: list[str]) -> FloatArray | None:
        if self.risk_budgets is None:
            return None
        fallback = float(np.mean(list(self.risk_budgets.values())))
        return np.array([self.risk_budgets.get(s, fallback) for s in ids])

    def _weights(self, ids: list[str], series: list[ReturnSeries]) -> FloatArray:
        obs = observe(series, self.lookback_window, self.min_observations)
        mask, returns = established_returns(
            series, obs.usable, self.lookback_window, self.min_observations
        )
        lo, hi = self.constraints.bounds(ids)
        total = float(self.constraints.investable_total(ids))
        if not mask.any():
            return self.constraints.project(neutral_weights(mask, np.zeros(mask.size), total), ids)
        weights, budget = split_budget(mask, lo, hi, total)
        if budget > 0.0:
            cov = estimate_covariance(returns, self.shrinkage)
            chosen = [s for s, m in zip(ids, mask, strict=True) if m]
            weights[mask] = budget * risk_budget_weights(
                cov, self._budgets(chosen), lo[mask] / budget, hi[mask] / budget
            )
        return self.constraints.project(weights, ids)
