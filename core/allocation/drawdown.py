"""`DrawdownBasedAllocation`: less capital to strategies in drawdown."""

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
from core.errors import InvalidInputError
from core.money import Number

DEFAULT_THRESHOLD = Decimal("0.20")
DEFAULT_RECOVERY_BONUS = Decimal("0.1")


def window_drawdowns(returns: FloatArray) -> tuple[float, float]:
    """(current drawdown, lowest drawdown since the last peak) of the compounded returns."""
    nav = np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    drawdown = nav / np.maximum.accumulate(nav) - 1.0
    last_peak = int(np.flatnonzero(drawdown >= 0.0)[-1])
    return float(drawdown[-1]), float(drawdown[last_peak:].min())


class DrawdownBasedAllocation(QuantizedAllocation):
    """score_i = 1/(1 + |DD_i|) × (1 + recovery_bonus × recovered fraction).

    - DD_i is the current drawdown (the series' own, or measured over the last
      `lookback_window` returns when that is given).
    - A strategy whose drawdown is beyond `max_drawdown_threshold` (|DD| > threshold) gets
      its minimum bound; the others share the rest, and what they cannot take under their
      maximums stays in cash rather than going back to the breached ones.
    - Recovery bonus only for strategies climbing back: in drawdown and above the trough
      since their last peak; the recovered fraction is (DD − trough)/(0 − trough), so a
      strategy at a peak, or still at its trough, gets no bonus.
    - New strategies (fewer than `min_observations` returns) that are not beyond the
      threshold get the neutral share total/N.
    """

    def __init__(
        self,
        max_drawdown_threshold: Number = DEFAULT_THRESHOLD,
        recovery_bonus: Number = DEFAULT_RECOVERY_BONUS,
        constraints: AllocationConstraints | None = None,
        *,
        lookback_window: int | None = None,
        min_observations: int | None = None,
    ) -> None:
        super().__init__(constraints)
        self.max_drawdown_threshold = positive_float(
            max_drawdown_threshold, "max_drawdown_threshold"
        )
        if self.max_drawdown_threshold > 1.0:
            raise InvalidInputError(
                f"max_drawdown_threshold must be in (0, 1], got {max_drawdown_threshold!r}"
            )
        self.recovery_bonus = positive_float(recovery_bonus, "recovery_bonus", allow_zero=True)
        self.lookback_window = None if lookback_window is None else check_window(lookback_window)
        self.min_observations = resolve_min_observations(min_observations, self.lookback_window)

    def _drawdowns(self, series: list[ReturnSeries], returns: list[FloatArray]) -> FloatArray:
        if self.lookback_window is None:
            pairs = [(s.current_drawdown, s.trough_drawdown) for s in series]
        else:
            pairs = [window_drawdowns(r) for r in returns]
        return np.array(pairs, dtype=np.float64).reshape(len(series), 2)

    def scores(self, current: FloatArray, trough: FloatArray) -> FloatArray:
        """1/(1 + |DD|) with the recovery bonus (drawdowns ≤ 0, trough ≤ current)."""
        depth = np.abs(np.minimum(current, 0.0))
        trough = np.minimum(trough, current)
        climbing = (current < 0.0) & (current > trough)
        recovered = np.zeros(current.size)
        recovered[climbing] = (current[climbing] - trough[climbing]) / -trough[climbing]
        result: FloatArray = (1.0 + self.recovery_bonus * recovered) / (1.0 + depth)
        return result

    def _weights(self, ids: list[str], series: list[ReturnSeries]) -> FloatArray:
        obs = observe(series, self.lookback_window, self.min_observations)
        dd = self._drawdowns(series, obs.returns)
        breached = np.abs(np.minimum(dd[:, 0], 0.0)) > self.max_drawdown_threshold
        lo, hi = self.constraints.bounds(ids)
        weights = lo.copy()
        rest = ~breached
        if rest.any():
            lo_r, hi_r = lo[rest], hi[rest]
            total = min(
                float(self.constraints.max_total) - float(lo[breached].sum()), float(hi_r.sum())
            )
            raw = neutral_weights(~obs.new[rest], self.scores(dd[rest, 0], dd[rest, 1]), total)
            weights[rest] = project_box_sum(raw, lo_r, hi_r, total)
        return weights
