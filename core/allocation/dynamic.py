"""`DynamicAllocation`: momentum weights with a real minimum per strategy."""

from __future__ import annotations

from decimal import Decimal

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
)
from core.allocation.constraints import AllocationConstraints
from core.allocation.projection import project_box_sum
from core.money import Number

DEFAULT_MIN_ALLOCATION = Decimal("0.05")


class DynamicAllocation(QuantizedAllocation):
    """Weights in proportion to the min–max score of the compounded lookback return.

    R_i = Π(1 + r) − 1 over the last `lookback_window` returns; score
    (R_i − min R)/(max R − min R) over the established strategies (equal weights when all R
    are equal). New strategies (fewer than `min_observations` returns) get the neutral share
    total/N instead of being scored as a zero return.

    `min_allocation` is a floor on every weight, enforced by exact projection (together with
    the constraints' bounds), not an offset added to the scores. When N floors do not fit in
    the investable total the floor is lowered to the highest level that fits (equal weights
    in the limit).
    """

    def __init__(
        self,
        lookback_window: int = 60,
        min_allocation: Number = DEFAULT_MIN_ALLOCATION,
        constraints: AllocationConstraints | None = None,
        *,
        min_observations: int | None = None,
    ) -> None:
        super().__init__(constraints)
        self.lookback_window = check_window(lookback_window)
        self.min_observations = resolve_min_observations(min_observations, lookback_window)
        self.min_allocation = positive_float(min_allocation, "min_allocation", allow_zero=True)

    def _floors(self, lo: FloatArray, hi: FloatArray, total: float) -> FloatArray:
        """max(min bound, min_allocation) per strategy, lowered together until they fit."""
        floor_hi = np.minimum(np.maximum(lo, self.min_allocation), hi)
        if float(floor_hi.sum()) <= total:
            return floor_hi
        # water-filling: the projection of a constant onto [lo, floor_hi] with Σ = total
        return project_box_sum(np.zeros(lo.size), lo, floor_hi, total)

    def _weights(self, ids: list[str], series: list[ReturnSeries]) -> FloatArray:
        obs = observe(series, self.lookback_window, self.min_observations)
        established = ~obs.new
        growth = np.array([float(np.prod(1.0 + r)) - 1.0 for r in obs.returns])
        scores = np.zeros(len(ids))
        if established.any():
            part = growth[established]
            spread = float(part.max() - part.min())
            scores[established] = (part - part.min()) / spread if spread > 0.0 else 1.0
        lo, hi = self.constraints.bounds(ids)
        total = float(self.constraints.investable_total(ids))
        floors = self._floors(lo, hi, total)
        return project_box_sum(neutral_weights(established, scores, total), floors, hi, total)
