"""`AllocationConstraints`: per-strategy weight bounds and the fund's budget (Decimal).

Bounds are fractions of the fund's value. `max_total` is the budget: the weights of one
allocation never sum above it, and whatever is not allocated stays in the reserve as cash.
Infeasible settings raise `InfeasibleConstraintsError` (a `ValueError`): at construction when
they are infeasible on their own (a minimum above its maximum, a minimum below 0, a maximum
above 1, a budget outside (0, 1]), and when a set of strategies is allocated whose minimums
sum above the budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from core.allocation.projection import project_box_budget, project_box_sum
from core.allocation.quantize import quantize_weights
from core.errors import InfeasibleConstraintsError, InvalidInputError
from core.money import ONE, ZERO, to_decimal

FloatArray = npt.NDArray[np.float64]


def _decimal_map(values: Mapping[str, object], name: str) -> dict[str, Decimal]:
    if not isinstance(values, Mapping):
        raise InvalidInputError(f"{name} must be a mapping of strategy id -> weight")
    return {sid: to_decimal(v, field=f"{name}[{sid!r}]") for sid, v in values.items()}


@dataclass(frozen=True)
class AllocationConstraints:
    """Weight bounds per strategy and the budget; values accept Decimal, int, str or float.

    `strategy_min` / `strategy_max` override `default_min` / `default_max` for single ids.
    Algorithms apply the bounds by exact projection (or inside their optimiser), never by
    clamp-then-renormalise.
    """

    default_min: Decimal = Decimal("0.0")
    default_max: Decimal = Decimal("1.0")
    strategy_min: Mapping[str, Decimal] = field(default_factory=dict)
    strategy_max: Mapping[str, Decimal] = field(default_factory=dict)
    max_total: Decimal = Decimal("1")

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "default_min", to_decimal(self.default_min, field="default_min"))
        set_(self, "default_max", to_decimal(self.default_max, field="default_max"))
        set_(self, "max_total", to_decimal(self.max_total, field="max_total"))
        set_(self, "strategy_min", _decimal_map(self.strategy_min, "strategy_min"))
        set_(self, "strategy_max", _decimal_map(self.strategy_max, "strategy_max"))
        if not ZERO < self.max_total <= ONE:
            raise InfeasibleConstraintsError(f"max_total must be in (0, 1], got {self.max_total}")
        self._check_pair("default", self.default_min, self.default_max)
        for sid in sorted(set(self.strategy_min) | set(self.strategy_max)):
            self._check_pair(repr(sid), self.min_for(sid), self.max_for(sid))

    @staticmethod
    def _check_pair(name: str, lo: Decimal, hi: Decimal) -> None:
        if lo < ZERO:
            raise InfeasibleConstraintsError(f"minimum for {name} must be >= 0, got {lo}")
        if hi > ONE:
            raise InfeasibleConstraintsError(f"maximum for {name} must be <= 1, got {hi}")
        if lo > hi:
            raise InfeasibleConstraintsError(f"minimum {lo} for {name} exceeds its maximum {hi}")

    def min_for(self, strategy_id: str) -> Decimal:
        return self.strategy_min.get(strategy_id, self.default_min)

    def max_for(self, strategy_id: str) -> Decimal:
        return self.strategy_max.get(strategy_id, self.default_max)

    def decimal_bounds(self, ids: Sequence[str]) -> tuple[list[Decimal], list[Decimal]]:
        """Exact (min, max) lists for `ids`, in order."""
        if not self.strategy_min and not self.strategy_max:
            return [self.default_min] * len(ids), [self.default_max] * len(ids)
        return [self.min_for(s) for s in ids], [self.max_for(s) for s in ids]

    def bounds(self, ids: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        """(lo, hi) float64 arrays for `ids`, in order."""
        lo, hi = self.decimal_bounds(ids)
        return np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64)

    def check_feasible(self, ids: Sequence[str]) -> None:
        """Raise `InfeasibleConstraintsError` if the minimums of `ids` sum above the budget."""
        lo_sum = sum(self.decimal_bounds(ids)[0], ZERO)
        if lo_sum > self.max_total:
            raise InfeasibleConstraintsError(
                f"minimum allocations sum to {lo_sum} for {len(ids)} strategies, "
                f"above the budget max_total={self.max_total}"
            )

    def investable_total(self, ids: Sequence[str]) -> Decimal:
        """What a fully invested allocation sums to: min(max_total, Σ maximums)."""
        return min(self.max_total, sum(self.decimal_bounds(ids)[1], ZERO))

    def project(self, weights: npt.ArrayLike, ids: Sequence[str]) -> FloatArray:
        """Exact projection onto the bounds with Σw = `investable_total(ids)`."""
        self.check_feasible(ids)
        lo, hi = self.bounds(ids)
        return project_box_sum(weights, lo, hi, float(self.investable_total(ids)))

    def project_within_budget(self, weights: npt.ArrayLike, ids: Sequence[str]) -> FloatArray:
        """Exact projection onto the bounds with Σw ≤ max_total (the rest stays cash)."""
        self.check_feasible(ids)
        lo, hi = self.bounds(ids)
        return project_box_budget(weights, lo, hi, float(self.max_total))

    def quantize(
        self, ids: Sequence[str], weights: Sequence[float | Decimal]
    ) -> dict[str, Decimal]:
        """Float (or Decimal) weights → Decimal multiples of 1e-10 that meet the bounds and
        the budget exactly (see `core.allocation.quantize`)."""
        lo, hi = self.decimal_bounds(ids)
        values = quantize_weights(weights, lo, hi, self.max_total)
        return dict(zip(ids, values, strict=True))
