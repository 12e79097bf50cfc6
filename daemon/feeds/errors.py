"""The exception tree of `daemon.feeds`.

    DaemonError
    └── FeedError                   a feed cannot be built or cannot go on
        ├── FeedConfigError (ValueError)     an option is invalid (kind, layout, speed...)
        ├── FeedFileMissingError             an input file does not exist (`path`)
        ├── FeedColumnError (ValueError)     a header lacks a required column (`path`, `column`)
        └── FeedTimestampError (ValueError)  a timestamp cell cannot be parsed
                                             (`path`, `line`, `value`)

A bad *bar* is not an error: the validator rejects and counts it, and the feed goes on.
These errors are about the input as a whole (configuration, files, headers) or a timestamp,
without which a row cannot be placed in time at all; they stop the feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from daemon.errors import DaemonError


class FeedError(DaemonError):
    """Base of every error raised by a feed."""


class FeedConfigError(FeedError, ValueError):
    """A feed option is invalid; the message names the option."""


class FeedFileMissingError(FeedError):
    """An input file does not exist."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: no such file")
        self.path = path


class FeedColumnError(FeedError, ValueError):
    """A file's header lacks a required column (or names it twice). `header`: the column
    names the header has (empty when the file has no header)."""

    def __init__(
        self,
        path: Path,
        column: str,
        problem: str = "missing column",
        header: Sequence[str] = (),
    ) -> None:
        has = f" (the header has: {', '.join(header)})" if header else ""
        super().__init__(f"{path}: {problem} {column!r}{has}")
        self.path = path
        self.column = column
        self.header = tuple(header)


class FeedTimestampError(FeedError, ValueError):
    """A timestamp cell cannot be parsed. `line` is 1-based and counts the header line
    for CSV files; for Parquet files it is the 1-based row number."""

    def __init__(self, path: Path, line: int, value: object, why: str = "") -> None:
        detail = f": {why}" if why else ""
        super().__init__(f"{path}, line {line}: cannot parse timestamp {value!r}{detail}")
        self.path = path
        self.line = line
        self.value = value
