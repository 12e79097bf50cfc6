"""The window statistics of `StrategyPerformance` (mixed in), read from its exact sums.

Every reader here first folds in a return that `StrategyPerformance.defer` left for later
(`settled`), so a deferred update is never visible to a caller.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

SCALE_BITS = 100
"""Returns are fixed to multiples of 2**-SCALE_BITS, so the window's sums are exact integers."""
_INF = math.inf
_CONSTANT_STD = 1e-12
"""A window whose per-period std is below this (times max(1, |mean|)) counts as constant."""

_Read = TypeVar("_Read", bound=Callable[..., Any])


def settled(read: _Read) -> _Read:
    """A reader of the statistics: it first folds in a deferred return (see `defer`)."""

    @functools.wraps(read)
    def reader(self: PerformanceStatistics, *args: Any) -> Any:
        if self._deferred is not None:
            self.settle()
        return read(self, *args)

    return reader  # type: ignore[return-value]


class PerformanceStatistics:
    """Mean, volatility, Sharpe, win rate and profit factor of the return window."""

    _deferred: tuple[Any, Any, float] | None = None
    """(timestamp, value, growth) of a return `defer` left for `settle`."""

    periods_per_year: float
    risk_free_rate: float
    _count: int
    _s1: int
    _s2: int
    _wins: int
    _losses: int
    _gain: int
    _loss: int

    def settle(self) -> None:
        raise NotImplementedError

    def _period_mean_std(self) -> tuple[float, float]:
        """Per-period mean and sample std (ddof 1) of the window, both float."""
        n = self._count
        mean = self._s1 / (n << SCALE_BITS)
        var = (n * self._s2 - self._s1 * self._s1) / ((n * (n - 1)) << (2 * SCALE_BITS))
        std = math.sqrt(var) if var > 0 else 0.0
        if std < _CONSTANT_STD * max(1.0, abs(mean)):
            std = 0.0
        return mean, std

    @property
    @settled
    def mean_return(self) -> float:
        """Annualised arithmetic mean return (per-period mean × periods_per_year), float."""
        if self._count < 2:
            return 0.0
        return self._period_mean_std()[0] * self.periods_per_year

    @property
    @settled
    def volatility(self) -> float:
        """Annualised volatility (sample std × √periods_per_year), float; 0.0 if constant."""
        if self._count < 2:
            return 0.0
        return self._period_mean_std()[1] * math.sqrt(self.periods_per_year)

    @property
    @settled
    def sharpe_ratio(self) -> float:
        """(mean − rf / periods_per_year) / std × √periods_per_year, float; 0.0 if constant."""
        if self._count < 2:
            return 0.0
        mean, std = self._period_mean_std()
        if std == 0.0:
            return 0.0
        excess = mean - self.risk_free_rate / self.periods_per_year
        return excess / std * math.sqrt(self.periods_per_year)

    @property
    @settled
    def win_rate(self) -> float:
        """Fraction of the window's returns that are > 0, float."""
        if self._count < 2:
            return 0.0
        return self._wins / self._count

    @property
    @settled
    def profit_factor(self) -> float:
        """Σ gains / |Σ losses| over the window, float: inf with gains and no losses."""
        if self._count < 2 or self._wins == 0:
            return 0.0
        if self._losses == 0 or self._loss == 0:
            return _INF
        return self._gain / -self._loss

    @property
    @settled
    def winning_periods(self) -> int:
        return self._wins

    @property
    @settled
    def losing_periods(self) -> int:
        return self._losses
