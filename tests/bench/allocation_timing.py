"""Time each allocation algorithm at N = 10, 100, 500 strategies with 252 returns each.

Run: `.venv/bin/python -m tests.bench.allocation_timing`. Prints ms per `calculate_allocations`
call (best of several repeats) and returns them as {algorithm: {N: ms}}. Targets: ERC and
multivariate Kelly at N = 100 within 5 ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from core.allocation import (
    AllocationAlgorithm,
    AllocationConstraints,
    DrawdownBasedAllocation,
    DynamicAllocation,
    EqualRiskContributionAllocation,
    FixedAllocation,
    HierarchicalRiskParityAllocation,
    KellyCriterionAllocation,
    RiskParityAllocation,
    VolatilityTargeting,
)

SIZES = (10, 100, 500)
PERIODS = 252
TARGET_MS = 5.0
REPEATS = 5
MIN_REPEAT_S = 0.02


@dataclass
class _Series:
    """A minimal return series sharing one timestamp tuple with its peers."""

    strategy_id: str
    returns: np.ndarray
    return_timestamps: tuple[object, ...]
    periods_per_year: int = 252
    current_drawdown: float = 0.0
    max_drawdown: float = 0.0
    trough_drawdown: float = 0.0

    def returns_array(self, n: int | None = None) -> np.ndarray:
        r = self.returns if n is None else self.returns[max(0, self.returns.size - n) :]
        return r.copy()


def make_strategies(n: int, seed: int = 2024) -> dict[str, _Series]:
    """n correlated strategies (5 factors + noise), seeded."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((PERIODS, 5)) * 0.008
    loadings = rng.uniform(-0.5, 1.0, (5, n))
    noise = rng.standard_normal((PERIODS, n)) * rng.uniform(0.004, 0.02, n)
    returns = factors @ loadings + noise + rng.uniform(-0.0002, 0.0008, n)
    stamps = tuple(range(PERIODS))
    out = {}
    for j in range(n):
        nav = np.cumprod(1.0 + returns[:, j])
        dd = nav / np.maximum.accumulate(nav) - 1.0
        out[f"s{j}"] = _Series(
            f"s{j}",
            returns[:, j].copy(),
            stamps,
            current_drawdown=float(dd[-1]),
            max_drawdown=float(dd.min()),
            trough_drawdown=float(dd[-1]),
        )
    return out


def algorithms(n: int) -> dict[str, AllocationAlgorithm]:
    fixed = {f"s{j}": Decimal(1) / n for j in range(n)}
    return {
        "fixed": FixedAllocation(fixed),
        "dynamic": DynamicAllocation(lookback_window=PERIODS),
        "risk_parity": RiskParityAllocation(),
        "kelly": KellyCriterionAllocation(),
        "kelly_multivariate": KellyCriterionAllocation(use_covariance=True),
        "drawdown": DrawdownBasedAllocation(),
        "erc": EqualRiskContributionAllocation(),
        "erc(capped at 1.5/N)": EqualRiskContributionAllocation(
            constraints=AllocationConstraints(default_max=Decimal(3) / (2 * n))
        ),
        "hrp": HierarchicalRiskParityAllocation(),
        "vol_target(risk_parity)": VolatilityTargeting(RiskParityAllocation(), Decimal("0.10")),
    }


def best_ms(call: Callable[[], object]) -> float:
    """Best per-call time over REPEATS repeats, each at least MIN_REPEAT_S long."""
    start = time.perf_counter()
    call()
    single = max(time.perf_counter() - start, 1e-6)
    number = max(1, int(MIN_REPEAT_S / single))
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(number):
            call()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1e3


def run(print_fn: Callable[[str], object] = print) -> dict[str, dict[int, float]]:
    results: dict[str, dict[int, float]] = {}
    for n in SIZES:
        strategies = make_strategies(n)
        for name, algo in algorithms(n).items():
            results.setdefault(name, {})[n] = best_ms(
                lambda a=algo, s=strategies: a.calculate_allocations(s)
            )
    print_fn(f"allocation timing: ms per call, {PERIODS} returns, best of {REPEATS}")
    print_fn(f"{'algorithm':<26}" + "".join(f"{'N=' + str(n):>12}" for n in SIZES))
    for name, row in results.items():
        print_fn(f"{name:<26}" + "".join(f"{row[n]:>12.3f}" for n in SIZES))
    for name in ("erc", "kelly_multivariate"):
        ms = results[name][100]
        verdict = "ok" if ms <= TARGET_MS else "ABOVE TARGET"
        print_fn(f"{name} at N=100: {ms:.3f} ms (target {TARGET_MS} ms): {verdict}")
    return results


if __name__ == "__main__":
    run()
