"""The fund's equity and allocation over time, kept for charts (`paperfund report`).

Values are floats, converted from the book's Decimals: the history is for drawing only and
never feeds back into a decision, so it may round. It is bounded: when it holds
`max_points`, every other point is dropped and the sampling stride doubles, so a point is
kept exactly for the slices whose number is a multiple of the stride. That depends only on
how many slices were recorded, so a replay after recovery rebuilds the same history.

Storage is by row, to keep recording cheap: each point's strategy values in one float array,
in the order of the *roster* in force (the strategies in the fund and their order, stored
once per change); a strategy's target weight as a list of changes (targets move only when
the fund is rebalanced or changes shape). Columns per strategy (NaN where it was not in the
fund) and weights are derived when read. The fund's value is the reserve's plus the
exactly rounded sum of the strategies' (`math.fsum`), so it does not depend on their order.

The engine may hand `record` the values it already has as floats (a shard's reply), in any
order, instead of the book reading every record: they are used only when they name exactly
the book's strategies.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np

from core.book import FundBook

DEFAULT_MAX_POINTS = 2000
MIN_POINTS = 2

TargetChange = tuple[int, float]
"""(first point it applies to, target weight; NaN while the strategy is out of the fund)"""

Roster = tuple[int, tuple[str, ...]]
"""(first point it applies to, the strategies whose values a row holds, in row order)"""

Row = tuple[Sequence[str], "array[float]"]
"""Strategy ids and their values, in the same order."""

T = TypeVar("T")


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
        self.rows: list[array[float]] = []
        self.rosters: list[Roster] = []
        self.order: list[str] = []
        """Every strategy ever recorded, in the book's order when it first appeared."""
        self.target_changes: dict[str, list[TargetChange]] = {}
        self._last_target: dict[str, Decimal | None] = {}
        self._targets_seen: object = None

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def strategy_ids(self) -> list[str]:
        return list(self.order)

    @property
    def values(self) -> dict[str, list[float]]:
        """Each strategy's value at every point (NaN where it was out)."""
        columns = {sid: np.full(len(self.ts), np.nan) for sid in self.order}
        bounds = [start for start, _ in self.rosters[1:]] + [len(self.ts)]
        for (start, ids), end in zip(self.rosters, bounds, strict=True):
            if end > start and ids:
                block = np.array(self.rows[start:end])
                for j, sid in enumerate(ids):
                    columns[sid][start:end] = block[:, j]
        return {sid: column.tolist() for sid, column in columns.items()}

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

    def record(self, ts: datetime, book: FundBook, row: Callable[[], Row] | None = None) -> None:
        """Offer the state at the end of the slice at `ts`; kept when it falls on the stride.
        `row`, if given, returns the strategies' values as the engine has them: used
        instead of the book's records when it names exactly the book's strategies."""
        index = self.seen
        self.seen += 1
        if index % self.stride:
            return
        point = len(self.ts)
        records = book.records
        ids, values = row() if row is not None else ((), array("d"))
        if len(ids) != len(records) or records.keys() != set(ids):
            ids = list(records)
            values = array("d", [float(rec.value) for rec in records.values()])
        if not self.rosters or tuple(ids) != self.rosters[-1][1]:
            self._new_roster(point, tuple(ids), book)
        elif book.targets_version is not self._targets_seen:
            self._note_targets(point, book)
        reserve = float(book.reserve.portfolio_value)
        self.ts.append(ts)
        self.rows.append(values)
        self.fund_value.append(reserve + math.fsum(values))
        self.reserve_value.append(reserve)
        if len(self.ts) >= self.max_points:
            self._decimate()

    def _new_roster(self, point: int, ids: tuple[str, ...], book: FundBook) -> None:
        """The fund's strategies changed (or their order): those that left have no target
        from `point` on, those that are new join the columns in the book's order."""
        present = set(ids)
        for sid, last in self._last_target.items():
            if last is not None and sid not in present:
                self._last_target[sid] = None
                self.target_changes[sid].append((point, math.nan))
        for sid in book.records:
            if sid not in self.target_changes:
                self.order.append(sid)
                self.target_changes[sid] = []
                self._last_target[sid] = None
        self.rosters.append((point, ids))
        self._note_targets(point, book)

    def _note_targets(self, point: int, book: FundBook) -> None:
        last_target = self._last_target
        for sid, rec in book.records.items():
            target = rec.target_weight
            last = last_target[sid]
            if last is None or target != last:
                last_target[sid] = target
                self.target_changes[sid].append((point, float(target)))
        self._targets_seen = book.targets_version

    def _decimate(self) -> None:
        """Keep the even points; a change (of targets, of roster) at point p now starts at
        ceil(p / 2), a later one at the same point winning."""
        self.ts = self.ts[::2]
        self.fund_value = self.fund_value[::2]
        self.reserve_value = self.reserve_value[::2]
        self.rows = self.rows[::2]
        self.rosters = list(_halved(self.rosters).items())
        for sid, changes in self.target_changes.items():
            self.target_changes[sid] = list(_halved(changes).items())
        self.stride *= 2

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Snapshots written before rows were stored (value or weight columns) are converted."""
        if "weights" in state:
            state = _from_weight_columns(state)
        if "values" in state:
            state = _from_value_columns(state)
        self.__dict__.update(state)


def _halved(changes: list[tuple[int, T]]) -> dict[int, T]:
    kept: dict[int, T] = {}
    for point, change in changes:
        kept[(point + 1) // 2] = change
    return kept


def _from_value_columns(old: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, list[float]] = old.pop("values")
    rows: list[array[float]] = []
    rosters: list[Roster] = []
    for point in range(len(old["ts"])):
        ids = tuple(sid for sid, column in columns.items() if not math.isnan(column[point]))
        if not rosters or rosters[-1][1] != ids:
            rosters.append((point, ids))
        rows.append(array("d", [columns[sid][point] for sid in ids]))
    return {**old, "rows": rows, "rosters": rosters, "order": list(columns), "_targets_seen": None}


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
