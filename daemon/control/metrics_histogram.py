"""`LatencyHistogram`: fixed buckets, cheap enough to observe every worker step.

prometheus_client's `Histogram.observe` takes a lock and walks its buckets in Python, a few
microseconds per call: at 100 strategies that is a noticeable share of a slice. Here an
observation is a `bisect` into a tuple of bounds, one list increment and one float add
(about 0.2 µs), and the cumulative buckets are only built when the metrics are scraped.
Everything runs on the event loop, so nothing is locked.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import pairwise

from daemon.control.metrics_text import go_float

STEP_BUCKETS_S = (
    1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Worker steps: from a trivial in-process strategy (~10 µs) up to the step deadline."""

SLICE_BUCKETS_S = (
    1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
)  # fmt: skip
"""Whole slices: a few strategies in process (~50 µs) up to a snapshot of a large fund."""


class LatencyHistogram:
    """Counts of observations per bucket (`le`: less than or equal), their sum and count."""

    __slots__ = ("_counts", "bounds", "sum_s")

    def __init__(self, bounds: Sequence[float]) -> None:
        if not bounds or any(not math.isfinite(b) or b <= 0 for b in bounds):
            raise ValueError(f"bucket bounds must be finite and > 0, got {bounds!r}")
        if any(a >= b for a, b in pairwise(bounds)):
            raise ValueError(f"bucket bounds must increase, got {bounds!r}")
        self.bounds = tuple(float(b) for b in bounds)
        self._counts = [0] * (len(self.bounds) + 1)  # the last: above every bound (+Inf)
        self.sum_s = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect_left(self.bounds, seconds)] += 1
        self.sum_s += seconds

    def observe_all(self, seconds: Iterable[float]) -> None:
        """Observe several values at once (one call per slice for all its worker steps)."""
        counts, bounds, total = self._counts, self.bounds, 0.0
        for value in seconds:
            counts[bisect_left(bounds, value)] += 1
            total += value
        self.sum_s += total

    @property
    def count(self) -> int:
        return sum(self._counts)

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts per `le` bound, as the exposition writes them, `+Inf` last."""
        cumulative = 0.0
        rows = []
        for bound, count in zip(self.bounds, self._counts, strict=False):
            cumulative += count
            rows.append((go_float(bound), cumulative))
        rows.append(("+Inf", cumulative + self._counts[-1]))
        return rows
