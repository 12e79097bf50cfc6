"""The fund's equity and allocation over time, kept for charts (`paperfund report`).

Values are floats, converted from the book's Decimals: the history is for drawing only and
never feeds back into a decision, so it may round. It is bounded: when it holds
`max_points`, every other point is dropped and the sampling stride doubles, so a point is
kept exactly for the slices whose number is a multiple of the stride. That depends only on
how many slices were recorded, so a replay after recovery rebuilds the same history.

Storage is by column (one list per series) to keep snapshots small. A strategy that was not
in the fund at a point has NaN there.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

from core.book import FundBook

DEFAULT_MAX_POINTS = 5000
MIN_POINTS = 2
TARGET_CACHE_SIZE = 4096


class FundHistory:
    """Per recorded slice: timestamp, fund value, reserve value, current and target weights."""

    def __init__(self, max_points: int = DEFAULT_MAX_POINTS) -> None:
        if max_points < MIN_POINTS:
            raise ValueError(f"max_points must be >= {MIN_POINTS}, got {max_points}")
        self.max_points = max_points
        self.stride = 1
        self.seen = 0
        self.ts: list[datetime] = []
        self.fund_value: list[float] = []
        self.reserve_value: list[float] = []
        self.weights: dict[str, list[float]] = {}
        self.targets: dict[str, list[float]] = {}
        self._targets_seen: dict[Decimal, float] = {}

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def strategy_ids(self) -> list[str]:
        return list(self.weights)

    def record(self, ts: datetime, book: FundBook) -> None:
        """Offer the state at the end of the slice at `ts`; kept when it falls on the stride."""
        index = self.seen
        self.seen += 1
        if index % self.stride:
            return
        values = {sid: float(rec.value) for sid, rec in book.records.items()}
        reserve = float(book.reserve.portfolio_value)
        fund_value = reserve + sum(values.values())
        scale = 1.0 / fund_value if fund_value > 0 else 0.0
        for sid in values:
            if sid not in self.weights:
                self.weights[sid] = [math.nan] * len(self.ts)
                self.targets[sid] = [math.nan] * len(self.ts)
        self.ts.append(ts)
        self.fund_value.append(fund_value)
        self.reserve_value.append(reserve)
        records = book.records
        for sid, column in self.weights.items():
            rec = records.get(sid)
            if rec is None:
                column.append(math.nan)
                self.targets[sid].append(math.nan)
            else:
                column.append(values[sid] * scale)
                self.targets[sid].append(self._target(rec.target_weight))
        if len(self.ts) >= self.max_points:
            self._decimate()

    def _target(self, weight: Decimal) -> float:
        """Targets change only at rebalances: convert each distinct Decimal once."""
        cached = self._targets_seen.get(weight)
        if cached is None:
            if len(self._targets_seen) >= TARGET_CACHE_SIZE:
                self._targets_seen.clear()
            cached = self._targets_seen[weight] = float(weight)
        return cached

    def _decimate(self) -> None:
        self.ts = self.ts[::2]
        self.fund_value = self.fund_value[::2]
        self.reserve_value = self.reserve_value[::2]
        self.weights = {sid: column[::2] for sid, column in self.weights.items()}
        self.targets = {sid: column[::2] for sid, column in self.targets.items()}
        self.stride *= 2
