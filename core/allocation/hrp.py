"""Hierarchical risk parity (López de Prado, 2016), float64, numpy only.

1. Correlation distance d_ij = √((1 − ρ_ij)/2).
2. Single-linkage clustering (minimum spanning tree by Prim's algorithm, edges merged in
   order of distance). Ties are broken deterministically: Prim picks the lowest index among
   equally close strategies, and equal distances merge in (distance, lower id, higher id)
   order. Each merge puts the cluster with the lower id on the left, like scipy's `linkage`.
3. Seriation: leaves of the tree, left to right.
4. Recursive bisection of the ordered list; each half's variance is that of its
   inverse-variance portfolio, and the halves split the weight as 1 − V₁/(V₁+V₂), V₁/(V₁+V₂).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from core.allocation.base import (
    FloatArray,
    QuantizedAllocation,
    ReturnSeries,
    check_window,
    neutral_weights,
    observe,
    resolve_min_observations,
)
from core.allocation.constraints import AllocationConstraints
from core.allocation.covariance import (
    established_returns,
    ledoit_wolf_covariance,
    parse_shrinkage,
    sample_covariance,
)
from core.errors import InvalidInputError


def correlation_distance(cov: FloatArray) -> FloatArray:
    d = np.sqrt(np.diag(cov))
    corr = np.clip(cov / np.outer(d, d), -1.0, 1.0)
    dist: FloatArray = np.sqrt(np.clip((1.0 - corr) / 2.0, 0.0, 1.0))
    np.fill_diagonal(dist, 0.0)
    return dist


def _spanning_tree(dist: FloatArray) -> list[tuple[float, int, int]]:
    n = dist.shape[0]
    in_tree = np.zeros(n, dtype=np.bool_)
    in_tree[0] = True
    best = dist[0].copy()
    parent = np.zeros(n, dtype=np.int64)
    edges = []
    for _ in range(n - 1):
        j = int(np.argmin(np.where(in_tree, np.inf, best)))
        a, b = sorted((int(parent[j]), j))
        edges.append((float(best[j]), a, b))
        in_tree[j] = True
        closer = dist[j] < best
        best[closer] = dist[j][closer]
        parent[closer] = j
    edges.sort()
    return edges


def single_linkage(dist: npt.ArrayLike) -> FloatArray:
    """Single-linkage merges as an (N−1)×4 matrix [left, right, distance, size] (scipy's
    layout: clusters N, N+1, … are the merges in order)."""
    matrix = np.asarray(dist, dtype=np.float64)
    n = matrix.shape[0]
    if matrix.ndim != 2 or matrix.shape != (n, n) or n < 1:
        raise InvalidInputError("distance must be a square matrix")
    root = list(range(2 * n - 1))
    size = [1] * (2 * n - 1)

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    merges = np.zeros((max(n - 1, 0), 4))
    for k, (distance, a, b) in enumerate(_spanning_tree(matrix)):
        left, right = sorted((find(a), find(b)))
        node = n + k
        root[left] = root[right] = node
        size[node] = size[left] + size[right]
        merges[k] = (left, right, distance, size[node])
    return merges


def leaf_order(merges: FloatArray) -> list[int]:
    """Leaves of the single-linkage tree, left to right (scipy's `leaves_list`)."""
    n = merges.shape[0] + 1
    order = []
    stack = [2 * n - 2]
    while stack:
        node = stack.pop()
        if node < n:
            order.append(node)
        else:
            left, right = merges[node - n, :2]
            stack.extend((int(right), int(left)))
    return order


def _cluster_variance(cov: FloatArray, items: list[int]) -> float:
    sub = cov[np.ix_(items, items)]
    inverse = 1.0 / np.diag(sub)
    w = inverse / inverse.sum()
    return float(w @ sub @ w)


def hrp_weights(cov: npt.ArrayLike) -> FloatArray:
    """HRP weights (summing to 1) of a covariance matrix with a positive diagonal."""
    sigma = np.asarray(cov, dtype=np.float64)
    n = sigma.shape[0]
    if sigma.ndim != 2 or sigma.shape != (n, n) or n == 0:
        raise InvalidInputError("covariance must be a non-empty square matrix")
    if not np.isfinite(sigma).all() or (np.diag(sigma) <= 0.0).any():
        raise InvalidInputError("covariance must be finite with a positive diagonal")
    weights = np.ones(n)
    clusters = [leaf_order(single_linkage(correlation_distance(sigma)))] if n > 1 else []
    while clusters:
        halves = [c[j:k] for c in clusters for j, k in ((0, len(c) // 2), (len(c) // 2, len(c)))]
        for first, second in zip(halves[::2], halves[1::2], strict=True):
            v1 = _cluster_variance(sigma, first)
            v2 = _cluster_variance(sigma, second)
            alpha = 1.0 - v1 / (v1 + v2)
            weights[first] *= alpha
            weights[second] *= 1.0 - alpha
        clusters = [h for h in halves if len(h) > 1]
    result: FloatArray = weights / weights.sum()
    return result


class HierarchicalRiskParityAllocation(QuantizedAllocation):
    """HRP on the timestamp-aligned covariance of the established strategies.

    New and constant strategies get the neutral share total/N; the established ones split the
    rest by HRP; bounds are then applied by exact projection (Σw = min(max_total, Σ max)).
    """

    def __init__(
        self,
        lookback_window: int = 252,
        shrinkage: bool | str = False,
        constraints: AllocationConstraints | None = None,
        *,
        min_observations: int | None = None,
    ) -> None:
        super().__init__(constraints)
        self.lookback_window = check_window(lookback_window)
        self.min_observations = resolve_min_observations(min_observations, lookback_window)
        self.shrinkage = parse_shrinkage(shrinkage)

    def _weights(self, ids: list[str], series: list[ReturnSeries]) -> FloatArray:
        obs = observe(series, self.lookback_window, self.min_observations)
        mask, returns = established_returns(
            series, obs.usable, self.lookback_window, self.min_observations
        )
        scores = np.zeros(mask.size)
        if mask.any():
            estimator = ledoit_wolf_covariance if self.shrinkage else sample_covariance
            scores[mask] = hrp_weights(estimator(returns))
        total = float(self.constraints.investable_total(ids))
        return self.constraints.project(neutral_weights(mask, scores, total), ids)
