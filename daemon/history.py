"""The fund's equity and allocation over time, kept for charts (`paperfund report`).

Values are floats, converted from the book's Decimals: the history is for drawing only and
never feeds back into a decision, so it may round. It is bounded: when it holds
`max_points`, every other point is dropped and the sampling stride doubles, so a point is
kept exactly for the slices whose number is a multiple of the stride. That depends only on
how many slices were recorded, so a replay after recovery rebuilds the same history.

Storage is by column to keep snapshots small and recording cheap: one list of values per
strategy (NaN where it was not in the fund), and its target weight as a list of changes
(targets move only when the fund is rebalanced or changes shape). Weights are derived when
read.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.book import FundBook

DEFAULT_MAX_POINTS = 2000
MIN_POINTS = 2

TargetChange = tuple[int, float]
"""(first point it applies to, target weight; NaN while the strategy is out of the fund)"""


class FundHistory:
    """Per recorded slice: timestamp, fund value, reserve value, strategy values and targets."""

    def __init__(self, max_points: int = DEFAULT_MAX_POINTS) -> None:
        if max_points < MIN_POINTS:
            raise ValueError(f"max_points must be >= {MIN_POINTS}, got {max_points}")
        self.max_points = max_points
        self.stride = 1
        self.seen = 0
        self.ts: list[datetime] = []
        self.fund_value: list[float] = []
        self.reserve_value: list[float] = []
        self.values: dict[str, list[float]] = {}
        self.target_changes: dict[str, list[TargetChange]] = {}
        self._last_target: dict[str, Decimal | None] = {}

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def strategy_ids(self) -> list[str]:
        return list(self.values)

    @property
    def weights(self) -> dict[str, list[float]]:
        """Each strategy's share of the fund at every point (NaN where it was out)."""
        scales = [1.0 / total if total > 0 else 0.0 for total in self.fund_value]
        return {
            sid: [value * scale for value, scale in zip(column, scales, strict=True)]
            for sid, column in self.values.items()
        }

    @property
    def targets(self) -> dict[str, list[float]]:
        """Each strategy's target weight at every point (NaN where it was out)."""
        out = {}
        for sid, changes in self.target_changes.items():
            column = [math.nan] * len(self.ts)
            bounds = [point for point, _ in changes[1:]] + [len(column)]
            for (start, target), end in zip(changes, bounds, strict=True):
                column[start:end] = [target] * (end - start)
            out[sid] = column
        return out

    def record(self, ts: datetime, book: FundBook) -> None:
        """Offer the state at the end of the slice at `ts`; kept when it falls on the stride."""
        index = self.seen
        self.seen += 1
        if index % self.stride:
            return
        point = len(self.ts)
        columns = self.values
        last_target = self._last_target
        records = book.records
        total = 0.0
        for sid, rec in records.items():
            column = columns.get(sid)
            if column is None:
                column = columns[sid] = [math.nan] * point
                self.target_changes[sid] = []
                last_target[sid] = None
            value = float(rec.value)
            column.append(value)
            total += value
            target = rec.target_weight
            if target is not last_target[sid]:
                last_target[sid] = target
                self.target_changes[sid].append((point, float(target)))
        if len(columns) > len(records):
            self._record_absent(point)
        reserve = float(book.reserve.portfolio_value)
        self.ts.append(ts)
        self.fund_value.append(reserve + total)
        self.reserve_value.append(reserve)
        if len(self.ts) >= self.max_points:
            self._decimate()

    def _record_absent(self, point: int) -> None:
        """NaN for the strategies that were in the fund before but are not now."""
        for sid, column in self.values.items():
            if len(column) == point:
                column.append(math.nan)
                if self._last_target[sid] is not None:
                    self._last_target[sid] = None
                    self.target_changes[sid].append((point, math.nan))

    def _decimate(self) -> None:
        """Keep the even points; a target change at point p now starts at ceil(p / 2)."""
        self.ts = self.ts[::2]
        self.fund_value = self.fund_value[::2]
        self.reserve_value = self.reserve_value[::2]
        self.values = {sid: column[::2] for sid, column in self.values.items()}
        for sid, changes in self.target_changes.items():
            kept: dict[int, float] = {}
            for point, target in changes:
                kept[(point + 1) // 2] = target  # a later change at the same point wins
            self.target_changes[sid] = list(kept.items())
        self.stride *= 2

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Snapshots written before values and target changes were stored are converted."""
        if "weights" in state:
            state = _from_weight_columns(state)
        self.__dict__.update(state)


def _from_weight_columns(old: dict[str, Any]) -> dict[str, Any]:
    totals: list[float] = old["fund_value"]
    values = {
        sid: [weight * total for weight, total in zip(column, totals, strict=True)]
        for sid, column in old["weights"].items()
    }
    changes: dict[str, list[TargetChange]] = {}
    last: dict[str, Decimal | None] = {}
    for sid, column in old["targets"].items():
        runs: list[TargetChange] = []
        for point, target in enumerate(column):
            previous = runs[-1][1] if runs else math.nan
            if not (target == previous or (math.isnan(target) and math.isnan(previous))):
                runs.append((point, target))
        changes[sid] = runs
        last[sid] = None  # the next record notes the current target again
    keep = ("max_points", "stride", "seen", "ts", "fund_value", "reserve_value")
    state = {key: old[key] for key in keep}
    state.update(values=values, target_changes=changes, _last_target=last)
    return state
