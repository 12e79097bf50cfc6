"""Reading market data tables (CSV, gzipped CSV or Parquet) into `RawBar`s, streaming.

Layouts (per file, by `layout`):

- "per_symbol", one file per symbol: date[, time], open, high, low, close[, volume]. The
  symbol is given by the caller or derived from the file name: the part of the stem before
  the first "-", "_", "." or space, upper-cased (`nvda-1999-2014-ohlcv-daily.csv` -> NVDA).
- "long": the same plus a symbol column (required); every row names its symbol.
- "ohlcv": "long" when the header has the symbol column, else "per_symbol".
- "wide_close" (or "wide"): date[, time], then one column of closes per symbol (the header
  names the symbols). Each non-blank cell is a flat bar (open = high = low = close) with
  unknown volume; a blank cell (or a null / NaN in Parquet) means no bar.
- "auto" (the default): "ohlcv" when the header names any of the open/high/low/close
  columns, else "wide_close".

Files ending in `.parquet` or `.pq` are Parquet, `.gz` gzipped CSV, anything else CSV.

Column names are matched case-insensitively after trimming, so the defaults of `Columns` read
the shipped files (`Date`, `date`, `Open`...) directly. Extra columns (`Adj Close`,
`OpenInterest`) are ignored. When a CSV header lacks the time column but data rows carry exactly
one field more than the header, that field is read as the time, right after the date: the
shipped 1-minute futures file has such a header (`Date,Open,...` over `date,time,open,...`).

Timestamps are read by `daemon.feeds.timestamps`: naive values are wall time in `zone` (UTC
by default, so a date alone is UTC midnight), and every bar's `ts` is UTC.

Prices stay text until validation (parsed to Decimal from the text, never through float);
Parquet numbers arrive as Python numbers (floats are converted through their shortest repr).
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import IO, Literal, get_args

import pyarrow.parquet as pq

from daemon.feeds.errors import (
    FeedColumnError,
    FeedConfigError,
    FeedFileMissingError,
    FeedTimestampError,
)
from daemon.feeds.timestamps import NO_TIME, parse_timestamp
from daemon.feeds.validation import RawBar

Layout = Literal["auto", "ohlcv", "per_symbol", "long", "wide_close", "wide"]
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
_PANDAS_INDEX = "__index_level_"
Row = Sequence[object]


@dataclass(frozen=True)
class Columns:
    """Column names (case-insensitive). `time`, `volume` and `symbol` are optional columns:
    used when the header has them; set one to None to ignore such a column."""

    date: str = "date"
    time: str | None = "time"
    open: str = "open"
    high: str = "high"
    low: str = "low"
    close: str = "close"
    volume: str | None = "volume"
    symbol: str | None = "symbol"

    @classmethod
    def coerce(cls, value: Columns | Mapping[str, str | None] | None) -> Columns:
        """A `Columns` from a mapping of its fields; "ts" is accepted for "date"."""
        if value is None or isinstance(value, Columns):
            return value or cls()
        names = {("date" if key == "ts" else key): name for key, name in value.items()}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(names) - known)
        if unknown:
            raise FeedConfigError(f"columns: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**names)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TablePlan:
    """Where everything is in one file, resolved from its header once."""

    path: Path
    parquet: bool
    layout: Literal["ohlcv", "wide_close"]
    date: int
    time: int | None = None
    prices: tuple[int, int, int, int] = (0, 0, 0, 0)
    volume: int | None = None
    symbol_column: int | None = None
    symbol: str = ""
    wide: tuple[tuple[int, str], ...] = ()
    only: frozenset[str] | None = None
    delimiter: str = ","
    zone: tzinfo = UTC


def symbol_from_path(path: Path) -> str:
    return re.split(r"[-_. ]", path.stem, maxsplit=1)[0].upper()


def plan_table(
    path: Path,
    *,
    layout: Layout,
    columns: Columns,
    symbol: str | None,
    only: frozenset[str] | None,
    delimiter: str = ",",
    zone: tzinfo = UTC,
) -> TablePlan:
    """Resolve the columns of `path`; raises `FeedFileMissingError` or `FeedColumnError`."""
    if layout not in get_args(Layout):
        raise FeedConfigError(f"layout must be one of {get_args(Layout)}, got {layout!r}")
    if not path.is_file():
        raise FeedFileMissingError(path)
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    header = _parquet_header(path) if parquet else _csv_header(path, columns, delimiter)
    index = _index(header)
    if layout == "auto":
        ohlc = (columns.open, columns.high, columns.low, columns.close)
        layout = "ohlcv" if any(_key(n) in index for n in ohlc) else "wide_close"
    plan = TablePlan(
        path=path,
        parquet=parquet,
        layout="wide_close" if layout in ("wide", "wide_close") else "ohlcv",
        date=_require(index, columns.date, path),
        time=_optional(index, columns.time),
        only=only,
        delimiter=delimiter,
        zone=zone,
    )
    if plan.layout == "wide_close":
        if symbol is not None:
            raise FeedConfigError(f"{path}: a wide_close file names its symbols in its header")
        return replace(plan, wide=_wide_columns(header, plan))
    if layout == "long":
        _require(index, columns.symbol or "symbol", path)
    elif layout == "per_symbol":
        columns = replace(columns, symbol=None)
    return _ohlcv_plan(plan, index, columns, symbol)


def _wide_columns(header: Sequence[str], plan: TablePlan) -> tuple[tuple[int, str], ...]:
    return tuple(
        (i, name.strip())
        for i, name in enumerate(header)
        if i not in (plan.date, plan.time)
        and not name.startswith(_PANDAS_INDEX)
        and (plan.only is None or name.strip() in plan.only)
    )


def _ohlcv_plan(
    plan: TablePlan, index: dict[str, int], columns: Columns, symbol: str | None
) -> TablePlan:
    path = plan.path
    o, h, lo, c = (
        _require(index, name, path)
        for name in (columns.open, columns.high, columns.low, columns.close)
    )
    symbol_at = _optional(index, columns.symbol)
    if symbol_at is not None and symbol is not None:
        raise FeedConfigError(f"{path}: has a symbol column; do not also give it a symbol")
    return replace(
        plan,
        prices=(o, h, lo, c),
        volume=_optional(index, columns.volume),
        symbol_column=symbol_at,
        symbol=symbol or ("" if symbol_at is not None else symbol_from_path(path)),
    )


def _key(name: str) -> str:
    return name.strip().lower()


def _index(header: Sequence[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(_key(name), i)
    return index


def _require(index: dict[str, int], name: str, path: Path) -> int:
    at = index.get(_key(name))
    if at is None:
        raise FeedColumnError(path, name, header=list(index))
    return at


def _optional(index: dict[str, int], name: str | None) -> int | None:
    return None if name is None else index.get(_key(name))


def _open_text(path: Path) -> IO[str]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return path.open(newline="", encoding="utf-8-sig")


def _csv_header(path: Path, columns: Columns, delimiter: str) -> list[str]:
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        first = next(reader, None)
    if not header:
        raise FeedColumnError(path, columns.date, "empty file, expected a header with column")
    keys = [_key(n) for n in header]
    if (
        columns.time is not None
        and _key(columns.time) not in keys
        and _key(columns.date) in keys
        and first is not None
        and len(first) == len(header) + 1
    ):
        header.insert(keys.index(_key(columns.date)) + 1, columns.time)
    return header


def _parquet_header(path: Path) -> list[str]:
    return list(pq.read_schema(path).names)


# ---- rows ---------------------------------------------------------------------------------
def read_rows(
    plan: TablePlan,
    *,
    date_format: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Iterator[RawBar]:
    """The file's rows as `RawBar`s, streaming. Rows before `start` are skipped; reading stops
    at the first row after `end` (the file is expected in time order)."""
    rows = _parquet_rows(plan.path) if plan.parquet else _csv_rows(plan.path, plan.delimiter)
    make = _wide_bars if plan.layout == "wide_close" else _ohlcv_bars
    try:
        for line, row in rows:
            ts = _row_timestamp(plan, line, row, date_format)
            if start is not None and ts < start:
                continue
            if end is not None and ts > end:
                return
            yield from make(plan, ts, row)
    finally:
        rows.close()


def _csv_rows(path: Path, delimiter: str) -> Generator[tuple[int, Row], None, None]:
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)
        for row in reader:
            if row:
                yield reader.line_num, row


def _parquet_rows(path: Path, batch_rows: int = 8192) -> Generator[tuple[int, Row], None, None]:
    with pq.ParquetFile(path) as table:
        line = 0
        for batch in table.iter_batches(batch_size=batch_rows):
            for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                line += 1
                yield line, row


def _cell(row: Row, at: int | None) -> object:
    return row[at] if at is not None and at < len(row) else None


def _ohlcv_bars(plan: TablePlan, ts: datetime, row: Row) -> Iterator[RawBar]:
    symbol = plan.symbol
    if plan.symbol_column is not None:
        cell = _cell(row, plan.symbol_column)
        symbol = "" if cell is None else str(cell).strip()
        if plan.only is not None and symbol not in plan.only:
            return
    o, h, lo, c = plan.prices
    yield RawBar(
        ts,
        symbol,
        _cell(row, o),
        _cell(row, h),
        _cell(row, lo),
        _cell(row, c),
        _cell(row, plan.volume),
    )


def _wide_bars(plan: TablePlan, ts: datetime, row: Row) -> Iterator[RawBar]:
    for at, symbol in plan.wide:
        cell = _cell(row, at)
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            continue
        if isinstance(cell, str) and not cell.strip():
            continue
        yield RawBar(ts, symbol, cell, cell, cell, cell, None)


def _row_timestamp(plan: TablePlan, line: int, row: Row, date_format: str | None) -> datetime:
    date_cell = _cell(row, plan.date)
    time_cell = NO_TIME if plan.time is None else _cell(row, plan.time)
    try:
        return parse_timestamp(date_cell, time_cell, date_format, plan.zone)
    except (ValueError, TypeError, OverflowError) as exc:
        shown = date_cell if time_cell is NO_TIME else f"{date_cell} {time_cell}"
        raise FeedTimestampError(plan.path, line, shown, str(exc)) from None
