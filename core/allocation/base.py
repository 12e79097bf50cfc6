"""The allocation interface and the policy every paperfund algorithm follows.

An algorithm maps `{strategy_id: ReturnSeries}` to `{strategy_id: Decimal weight}`: one weight
per input id, in input order, each a multiple of 1e-10 within its [min, max] bound, summing to
at most the budget (`AllocationConstraints.max_total`); the rest stays in the reserve as cash.
Statistics are float64; only the final weights are Decimal (see `core.allocation.quantize`).

Data policy (the same for every algorithm):

- A strategy is **new** when its lookback window holds fewer than `min_observations`
  NON-ZERO returns (default min(20, lookback_window)). Days without a return (all cash, or
  nothing held moved) are no measurement of risk: a strategy that was idle for most of the
  window, e.g. one -0.1 % day in 60, would otherwise look like an almost riskless one and
  take nearly the whole budget. Counted as new, it gets the neutral share, never more.
- A series is **constant** when max == min or its std < 1e-12·max(1, |mean|) (the std of a
  constant series computes as ~1e-19, never exactly 0). Constancy only matters to algorithms
  that divide by a volatility or need a covariance; for them a constant strategy is treated
  like a new one.
- **Budget-style algorithms** (dynamic, risk parity, ERC, HRP, drawdown-based) invest the whole
  investable total min(max_total, Σ max). Each new (or, where it matters, constant) strategy
  gets a neutral share, total/N, and the established strategies split the rest by the
  algorithm's rule. With no established strategy the weights are equal. A newcomer never gets
  more than an equal share because of missing data.
- **Kelly** bets only on a measured edge: new, constant and negative-edge strategies get 0 (or
  their minimum bound), and with no established strategy everything stays in cash.
- Covariance-based algorithms align series by timestamp (the most recent `lookback_window`
  timestamps common to all established strategies); with fewer common points than
  `min_observations` no covariance is trusted and the no-established rule applies.

Bounds are then applied by exact projection, or inside the optimiser for ERC and Kelly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import numpy as np
import numpy.typing as npt

from core.allocation.constraints import AllocationConstraints
from core.errors import InvalidInputError
from core.money import in_fund_decimals, to_decimal

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_MIN_OBSERVATIONS = 20
_CONSTANT_STD = 1e-12


class ReturnSeries(Protocol):
    """What an algorithm reads from a strategy (`core.performance.StrategyPerformance`)."""

    @property
    def strategy_id(self) -> str: ...

    @property
    def periods_per_year(self) -> float:
        """Annualisation factor (252 for daily bars)."""
        ...

    def returns_array(self, n: int | None = None) -> FloatArray:
        """float64 copy of the last min(n, available) simple returns, oldest first."""
        ...

    @property
    def return_timestamps(self) -> tuple[object, ...]:
        """Timestamps of the window's returns, aligned with `returns_array(None)`."""
        ...

    @property
    def current_drawdown(self) -> float: ...

    @property
    def max_drawdown(self) -> float: ...

    @property
    def trough_drawdown(self) -> float:
        """Lowest drawdown since the last peak (≤ current_drawdown; 0 at a peak)."""
        ...


class AllocationAlgorithm(ABC):
    """Base class of the allocation algorithms (seed interface)."""

    constraints: AllocationConstraints

    reads_statistics: bool = True
    """False: `calculate_allocations` reads only the strategies' ids, so the daemon does not
    load statistics that shards keep before calling it (`daemon.shard_statistics`)."""

    @abstractmethod
    def calculate_allocations(self, strategies: Mapping[str, ReturnSeries]) -> dict[str, Decimal]:
        """Weights per strategy id (Decimal fractions of the fund, Σ ≤ the budget)."""


class QuantizedAllocation(AllocationAlgorithm):
    """An algorithm that computes float weights; this class checks the constraints for the
    given ids and turns the weights into exact Decimal ones."""

    def __init__(self, constraints: AllocationConstraints | None = None) -> None:
        if constraints is not None and not isinstance(constraints, AllocationConstraints):
            raise InvalidInputError("constraints must be an AllocationConstraints")
        self.constraints = constraints if constraints is not None else AllocationConstraints()

    @in_fund_decimals
    def calculate_allocations(self, strategies: Mapping[str, ReturnSeries]) -> dict[str, Decimal]:
        ids = strategy_ids(strategies)
        if not ids:
            return {}
        self.constraints.check_feasible(ids)
        weights = self._weights(ids, [strategies[s] for s in ids])
        return self.constraints.quantize(ids, weights.tolist())

    @abstractmethod
    def _weights(self, ids: list[str], series: list[ReturnSeries]) -> FloatArray:
        """Float weights for `ids` that already meet the constraints up to float rounding."""


def strategy_ids(strategies: Mapping[str, object]) -> list[str]:
    if not isinstance(strategies, Mapping):
        raise InvalidInputError("strategies must be a mapping of strategy id -> performance")
    return list(strategies)


# ---------------------------------------------------------------- observations


@dataclass(frozen=True)
class Observation:
    """The lookback returns of each strategy and how the data policy classifies them."""

    returns: list[FloatArray]
    new: BoolArray
    constant: BoolArray

    @property
    def usable(self) -> BoolArray:
        """Neither new nor constant: a volatility can be measured."""
        result: BoolArray = ~(self.new | self.constant)
        return result


def constant_columns(returns: FloatArray) -> BoolArray:
    """Per column of a T×K matrix: max == min, or std < 1e-12·max(1, |mean|); fewer than
    two rows count as constant."""
    if returns.shape[0] < 2:
        return np.ones(returns.shape[1], dtype=np.bool_)
    flat = returns.max(axis=0) == returns.min(axis=0)
    mean = returns.mean(axis=0)
    std = np.sqrt(np.square(returns - mean).sum(axis=0) / (returns.shape[0] - 1))
    result: BoolArray = flat | (std < _CONSTANT_STD * np.maximum(1.0, np.abs(mean)))
    return result


def is_constant(returns: FloatArray) -> bool:
    """max == min, or std < 1e-12·max(1, |mean|); fewer than two returns count as constant."""
    return bool(constant_columns(np.asarray(returns, dtype=np.float64).reshape(-1, 1))[0])


def observe(
    series: Sequence[ReturnSeries], lookback_window: int | None, min_observations: int
) -> Observation:
    returns = [np.asarray(s.returns_array(lookback_window), dtype=np.float64) for s in series]
    constant = np.zeros(len(returns), dtype=np.bool_)
    by_length: dict[int, list[int]] = {}
    for i, r in enumerate(returns):
        by_length.setdefault(r.size, []).append(i)
    for length, members in by_length.items():
        block = np.array([returns[i] for i in members]).reshape(len(members), length).T
        if not np.isfinite(block).all():
            bad = members[int(np.argmin(np.isfinite(block).all(axis=0)))]
            raise InvalidInputError(f"returns of {series[bad].strategy_id!r} must be finite")
        constant[members] = constant_columns(block)
    new = np.array([np.count_nonzero(r) < min_observations for r in returns], dtype=np.bool_)
    return Observation(returns, new, constant)


def neutral_weights(established: BoolArray, scores: FloatArray, total: float) -> FloatArray:
    """Budget-style raw weights: total/N for each non-established strategy; the established
    ones share the rest in proportion to `scores` (≥ 0; equally if they are all 0)."""
    n = established.size
    weights = np.full(n, total / n)
    count = int(established.sum())
    if count == 0:
        return weights
    rest = total * count / n
    part = np.asarray(scores, dtype=np.float64)[established]
    score_sum = float(part.sum())
    if score_sum > 0.0:
        weights[established] = rest * part / score_sum
    else:
        weights[established] = rest / count
    return weights


def split_budget(
    established: BoolArray, lo: FloatArray, hi: FloatArray, total: float
) -> tuple[FloatArray, float]:
    """For optimisers: neutral shares total/N (within bounds) for the non-established
    strategies, and the budget left to the established ones (within their bounds' sums)."""
    weights = np.zeros(established.size)
    other = ~established
    weights[other] = np.clip(total / established.size, lo[other], hi[other])
    rest = total - float(weights[other].sum())
    rest = min(max(rest, float(lo[established].sum())), float(hi[established].sum()))
    return weights, rest


# ---------------------------------------------------------------- parameters


def check_window(lookback_window: object, name: str = "lookback_window") -> int:
    if isinstance(lookback_window, bool) or not isinstance(lookback_window, int):
        raise InvalidInputError(f"{name} must be an int, got {lookback_window!r}")
    if lookback_window < 2:
        raise InvalidInputError(f"{name} must be >= 2, got {lookback_window}")
    return lookback_window


def resolve_min_observations(min_observations: int | None, lookback_window: int | None) -> int:
    """The explicit value (2 ≤ it ≤ lookback_window) or min(20, lookback_window)."""
    if min_observations is None:
        if lookback_window is None:
            return DEFAULT_MIN_OBSERVATIONS
        return min(DEFAULT_MIN_OBSERVATIONS, lookback_window)
    value = check_window(min_observations, "min_observations")
    if lookback_window is not None and value > lookback_window:
        raise InvalidInputError(
            f"min_observations ({value}) must not exceed lookback_window ({lookback_window})"
        )
    return value


def positive_float(value: object, name: str, *, allow_zero: bool = False) -> float:
    """A Decimal/int/str/float parameter as a float, > 0 (or ≥ 0)."""
    number = float(to_decimal(value, field=name))
    if number < 0.0 or (number == 0.0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidInputError(f"{name} must be {bound}, got {value!r}")
    return number
