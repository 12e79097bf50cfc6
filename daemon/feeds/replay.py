"""`ReplayFeed`: slices from CSV or Parquet files, validated at the edge, optionally paced.

Files and layouts are described in `daemon.feeds.tables`: one OHLCV file per symbol, one long
OHLCV file with a symbol column, or a wide file of closes (one column per symbol); CSV,
gzipped CSV (`.gz`) or Parquet (`.parquet`, `.pq`) by suffix; mixing them in one feed is
allowed.

Memory: every file is streamed in timestamp order and files are k-way merged by timestamp
(`heapq.merge`), so a replay holds one row per file plus the slice being built. Input is
expected sorted by time within each file: a row that goes back in time is rejected as
`out_of_order`, not re-sorted. `presorted=False` loads each file whole and sorts it (stable,
so same-time rows keep their file order) before merging; use it for files sorted by symbol.
Rows of the same timestamp from different files meet in the order the files were given,
which decides which bar "last" is for `duplicate_policy="keep_last"`.

Filters: `symbols` keeps only those symbols (files of other symbols are not even opened; other
rows and columns are skipped, not counted as rejected); `start` and `end` are inclusive.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from itertools import groupby, takewhile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.market import Slice
from daemon.feeds.base import Clock, Feed, Pacer, Sleep, paced
from daemon.feeds.errors import FeedConfigError
from daemon.feeds.tables import Columns, Layout, TablePlan, plan_table, read_rows
from daemon.feeds.timestamps import to_utc
from daemon.feeds.validation import (
    BarLimits,
    BarValidator,
    DuplicatePolicy,
    RawBar,
    RejectHook,
)

PathLike = str | os.PathLike[str]
Paths = PathLike | Sequence[PathLike] | Mapping[str, PathLike]
"""One path, several paths, or {symbol: path} for one-file-per-symbol OHLCV files."""


def _row_ts(row: RawBar) -> datetime:
    return row.ts


class ReplayFeed(Feed):
    """Replays files as slices. Options:

    - `paths`: a path, a sequence of paths, or a mapping symbol -> path (one OHLCV file per
      symbol, naming the symbol instead of deriving it from the file name).
    - `layout`: "auto" (default), "ohlcv", "per_symbol", "long", "wide_close" (or "wide"); see
      `daemon.feeds.tables`. `columns`: a `Columns` or a mapping of its fields
      (`{"date": "Datetime"}`); `date_format`: `strptime` format, default ISO 8601;
      `delimiter`: the CSV field separator; `timezone`: the zone of naive timestamps (in the
      files and in `start`/`end`), default UTC.
    - `symbols`, `start`, `end` (datetime or ISO text): filters.
    - `presorted`: False to sort each file in memory first.
    - `speed`, `sleep`, `clock`: pacing (see `daemon.feeds.base`).
    - `validator`: the `BarValidator` to use; otherwise one is made from `duplicate_policy`,
      `on_reject` and `limits` (`BarLimits` or a mapping of its options; None: the defaults).
      It accepts every symbol and never compares bars with the wall clock: recorded data is
      in the past. `stats.rejected` is the validator's counters.

    Raises `FeedFileMissingError` or `FeedColumnError` when built (every header is read
    then); `FeedTimestampError` while iterating, at the first bad timestamp.
    """

    def __init__(
        self,
        paths: Paths,
        *,
        layout: Layout = "auto",
        columns: Columns | Mapping[str, str | None] | None = None,
        date_format: str | None = None,
        delimiter: str = ",",
        timezone: str | tzinfo = "UTC",
        symbols: Iterable[str] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        presorted: bool = True,
        speed: float | None = 0.0,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        validator: BarValidator | None = None,
        duplicate_policy: DuplicatePolicy = "reject",
        on_reject: RejectHook | None = None,
        limits: BarLimits | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.zone = _zone(timezone)
        self.start = None if start is None else _instant(start, "start", self.zone)
        self.end = None if end is None else _instant(end, "end", self.zone)
        if self.start is not None and self.end is not None and self.start > self.end:
            raise FeedConfigError(f"start {self.start} is after end {self.end}")
        if isinstance(symbols, str):
            symbols = [symbols]
        self.symbols = None if symbols is None else frozenset(symbols)
        self.date_format = date_format
        self.presorted = presorted
        self.plans = _plans(
            paths, layout, Columns.coerce(columns), self.symbols, delimiter, self.zone
        )
        self._use_validator(validator, None, duplicate_policy, on_reject, limits)
        self._pacer = Pacer(speed, sleep=sleep, clock=clock)

    def slices(self) -> AsyncIterator[Slice]:
        return paced(self._validated(), self._pacer, self.stats)

    def read_through(self) -> Iterator[Slice]:
        """The validated slices, read synchronously without pacing and without counting in
        `stats` (the feed's checks read every file once before a run)."""
        return self._validated()

    def _validated(self) -> Iterator[Slice]:
        streams = [self._stream(plan) for plan in self.plans]
        try:
            merged = heapq.merge(*streams, key=_row_ts)
            for ts, group in groupby(merged, key=_row_ts):
                market = self.validator.make_slice(ts, group)
                if market is not None:
                    yield market
        finally:
            for stream in streams:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()

    def _stream(self, plan: TablePlan) -> Iterator[RawBar]:
        if self.presorted:
            return read_rows(plan, date_format=self.date_format, start=self.start, end=self.end)
        # unsorted: reading cannot stop at the first row after `end`
        rows = sorted(read_rows(plan, date_format=self.date_format, start=self.start), key=_row_ts)
        end = self.end
        return iter(rows) if end is None else takewhile(lambda row: row.ts <= end, rows)


def _zone(value: str | tzinfo) -> tzinfo:
    if isinstance(value, tzinfo):
        return value
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise FeedConfigError(f"timezone: unknown time zone {value!r}") from None


def _instant(value: datetime | str, name: str, zone: tzinfo) -> datetime:
    try:
        return to_utc(value, zone)
    except (ValueError, TypeError) as exc:
        raise FeedConfigError(f"{name}: not an ISO 8601 timestamp: {value!r} ({exc})") from None


def _plans(
    paths: Paths,
    layout: Layout,
    columns: Columns,
    symbols: frozenset[str] | None,
    delimiter: str,
    zone: tzinfo,
) -> list[TablePlan]:
    named: list[tuple[str | None, PathLike]]
    if isinstance(paths, Mapping):
        named = [(str(symbol), path) for symbol, path in paths.items()]
    elif isinstance(paths, str | os.PathLike):
        named = [(None, paths)]
    else:
        named = [(None, path) for path in paths]
    if not named:
        raise FeedConfigError("paths: give at least one file")
    plans = []
    for symbol, path in named:
        plan = plan_table(
            Path(path),
            layout=layout,
            columns=columns,
            symbol=symbol,
            only=symbols,
            delimiter=delimiter,
            zone=zone,
        )
        per_file = plan.layout == "ohlcv" and plan.symbol_column is None
        if per_file and symbols is not None and plan.symbol not in symbols:
            continue
        plans.append(plan)
    return plans
