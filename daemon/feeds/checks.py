"""Checking a replay feed's files before a fund starts, the way the feed will read them.

`check_replay_files(options)` builds one `ReplayFeed` per file with the feed's options and
reads it through once, validating its bars: the same code, filters and policy the run uses,
so a file that passes here cannot stop the run later (unless it changes in between). Each
problem names the file and says what to do:

- the file is missing, a directory, unreadable, empty, not text (binary bytes, not UTF-8),
  or not a readable Parquet file (truncated, not Parquet at all);
- its header lacks a required column (with a hint when the header looks split with another
  delimiter), or a wide file has no column of closes;
- a timestamp does not parse (file and line);
- it has no bar in the configured window, or at least half of its bars would be rejected
  (all prices non-numeric, rows in reverse order, every row twice...). A few bad bars are
  not a problem: the feed rejects and counts them as it goes (`daemon.feeds.validation`);
- and across the files: a symbol of `feed.symbols` that no file has a bar of, or no file
  left to replay once `feed.symbols` has chosen (a run with nothing to replay).

Reading every file costs about what the replay's own reading costs (a few µs a row).
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow

from daemon.feeds.errors import FeedColumnError, FeedError, FeedTimestampError
from daemon.feeds.replay import Paths, ReplayFeed
from daemon.feeds.tables import PARQUET_SUFFIXES

SEPARATORS = (";", "\t", "|", ",")
"""Delimiters suggested when a header reads as one column that holds one of them."""


@dataclass
class FileReport:
    """What reading one file through gave: bars kept, bars rejected by reason (with the
    first rejection's detail for each)."""

    bars: int = 0
    symbols: set[str] = field(default_factory=set)
    rejected: dict[str, int] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)

    def on_reject(self, reason: str, symbol: str, ts: datetime, detail: str) -> None:
        self.first.setdefault(reason, f"{symbol} at {ts.isoformat()}: {detail}")

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


def check_replay_files(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(setting, problem) for each file of a replay feed built with `options` (the keyword
    options of `ReplayFeed`) that the feed could not replay as the user means it."""
    paths = options["paths"]
    rest = {key: value for key, value in options.items() if key != "paths"}
    named: list[tuple[str, Path, Paths]] = (
        [(f"feed.paths.{sym}", Path(path), {sym: path}) for sym, path in paths.items()]
        if isinstance(paths, Mapping)
        else [("feed.paths", Path(path), [path]) for path in paths]
    )
    problems = []
    seen: set[str] = set()
    for setting, path, one in named:
        problem = check_file(path, one, rest, seen)
        if problem is not None:
            problems.append((setting, f"{path}: {problem}"))
    if not problems:
        problems += _symbols_problems(options.get("symbols"), seen)
    return problems


def _symbols_problems(wanted: list[str] | None, seen: set[str]) -> list[tuple[str, str]]:
    """The fund-wide view once every file reads: each chosen symbol has bars somewhere,
    and something is left to replay at all."""
    hint = (
        "(a file in a list is named for its symbol by the start of its name: "
        "aaa-2024.csv -> AAA; or map symbol -> file in feed.paths)"
    )
    if not seen:
        if wanted:
            return [
                ("feed.symbols", f"no file of feed.paths has bars of {', '.join(wanted)} {hint}")
            ]
        return [("feed.paths", "no file has a bar to replay")]
    missing = [symbol for symbol in wanted or () if symbol not in seen]
    if missing:
        return [("feed.symbols", f"no file of feed.paths has bars of {', '.join(missing)} {hint}")]
    return []


def check_file(
    path: Path, paths: Paths, options: Mapping[str, Any], seen: set[str] | None = None
) -> str | None:
    """What keeps the file `path` from being replayed, or None; the symbols it has bars of
    are added to `seen`."""
    if path.is_dir():
        return "is a directory, not a file; give the path of a CSV or Parquet file"
    if not path.exists():
        return f"no such file (relative paths are read from the working directory, {Path.cwd()})"
    if not path.is_file():
        return "is not a regular file (a pipe, a socket or a device); give a CSV or Parquet file"
    report = FileReport()
    try:
        feed = ReplayFeed(paths, **options, on_reject=report.on_reject)
        for market in feed.read_through():
            report.bars += len(market)
            report.symbols.update(market)
    except FeedColumnError as exc:
        return _column_problem(exc, path, options)
    except FeedTimestampError as exc:
        return (
            f"line {exc.line}: cannot parse the timestamp {exc.value!r}; use ISO 8601 dates "
            "(2024-01-31) or set feed.date_format (a strptime format such as %d/%m/%Y)"
        )
    except FeedError as exc:  # an option this file cannot be read with
        return str(exc).removeprefix(f"{path}: ")
    except (
        OSError,
        UnicodeDecodeError,
        csv.Error,
        pyarrow.ArrowException,
        EOFError,
        zlib.error,
    ) as exc:
        return _read_problem(exc, path)
    if not feed.plans:  # a file of a symbol that feed.symbols leaves out: never read
        return None
    report.rejected = {k: v for k, v in feed.validator.rejected.items() if v}
    if seen is not None:
        seen |= report.symbols
    if feed.plans[0].layout == "wide_close" and not feed.plans[0].wide:
        return _no_symbols(options)
    return _bars_problem(report, options)


def _read_problem(exc: BaseException, path: Path) -> str:
    if isinstance(exc, PermissionError):
        return "cannot read the file: permission denied"
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"not a text file (byte {exc.object[exc.start]:#04x} at offset {exc.start} is not "
            "UTF-8); give a CSV file, or a Parquet file named .parquet"
        )
    if isinstance(exc, csv.Error):
        return f"not a CSV text file ({exc}); give a CSV file, or a Parquet file named .parquet"
    if isinstance(exc, pyarrow.ArrowException) and path.suffix.lower() in PARQUET_SUFFIXES:
        return f"not a readable Parquet file ({exc}); is it complete, and a Parquet file?"
    if isinstance(exc, EOFError | zlib.error | OSError):
        return f"cannot read the file: {exc}"
    return f"cannot read the file: {type(exc).__name__}: {exc}"


def _column_problem(exc: FeedColumnError, path: Path, options: Mapping[str, Any]) -> str:
    if not exc.header:
        return "the file is empty; it needs a header line naming its columns (date, open, ...)"
    what = f"no column {exc.column!r} (the header has: {', '.join(exc.header)})"
    delimiter = options.get("delimiter", ",")
    if len(exc.header) == 1:
        found = [s for s in SEPARATORS if s != delimiter and s in exc.header[0]]
        if found:
            return f"{what}; are the columns separated by {found[0]!r}? set feed.delimiter"
    return f"{what}; rename it in the file or set feed.columns to the header's names"


def _no_symbols(options: Mapping[str, Any]) -> str:
    if options.get("symbols"):
        return "none of feed.symbols is a column of this wide file of closes"
    return (
        "a wide file of closes needs a date column and one column per symbol; this one has "
        "only the date (or give OHLCV columns: date, open, high, low, close)"
    )


def _bars_problem(report: FileReport, options: Mapping[str, Any]) -> str | None:
    rejected = report.rejected_total
    if report.bars == 0 and rejected == 0:
        if options.get("start") is not None or options.get("end") is not None:
            return "no row between feed.start and feed.end"
        return "has no data rows, only a header"
    if rejected < max(report.bars, 1):
        return None
    reason = max(report.rejected, key=lambda r: report.rejected[r])
    total = report.bars + rejected
    what = f"{rejected} of its {total} bars would be rejected"
    if report.bars == 0:
        what = f"none of its {total} bars is valid"
    counts = ", ".join(f"{n} {r}" for r, n in sorted(report.rejected.items()))
    return f"{what} ({counts}; first {reason}: {report.first[reason]}){_advice(reason)}"


def _advice(reason: str) -> str:
    if reason == "out_of_order":
        return "; sort the file by time, or set feed.presorted: false"
    if reason == "duplicate":
        return "; each symbol may have one row per timestamp"
    if reason == "non_finite":
        return "; prices must be numbers (is feed.delimiter right?)"
    return ""
