"""How a store is opened: the `fsync` modes and what each guarantees.

- `every_slice`: `synchronous=FULL` and one commit per record. When `append` returns, the
  record is in the WAL and fsynced: it survives kill -9, an OS crash and power loss.
- `interval`: `synchronous=NORMAL`; appended records are committed together once `interval_s`
  has passed since the oldest uncommitted one or `interval_records` are waiting (checked on
  every `append` and by `flush_if_due`), and by `flush`, `write_snapshot`, `compact` and
  `close`. A kill -9 loses the records appended since the last commit; committed ones survive
  (a commit has handed them to the OS). An OS crash or power loss can also lose the commits
  since SQLite's last checkpoint, but leaves a consistent file.
- `off`: `synchronous=OFF`, one commit per record, never an fsync. A record whose `append`
  returned survives kill -9 (it is in the OS cache); an OS crash or power loss can lose any
  amount and can damage the file, which the recovery check on the next open then reports
  (cutting back, or raising `StoreCorrupted`).

In every mode a crash leaves a prefix of the journal, never a record without those before it,
and a snapshot is written in one transaction: all of it or none of it. Callers that acknowledge
something outside the process (a command read from Redis) call `flush()` before acknowledging
unless the mode is `every_slice`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from daemon.persistence.errors import StoreUsageError


class FsyncMode(StrEnum):
    EVERY_SLICE = "every_slice"
    INTERVAL = "interval"
    OFF = "off"

    @property
    def synchronous(self) -> str:
        """SQLite's `PRAGMA synchronous` for this mode."""
        return {"every_slice": "FULL", "interval": "NORMAL", "off": "OFF"}[self.value]


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """How a store was opened (see `StateStore.open`)."""

    mode: FsyncMode
    interval_s: float
    interval_records: int
    keep_snapshots: int
    clock: Callable[[], float]
    """monotonic seconds, for the interval mode"""
    wall_clock: Callable[[], float]
    """seconds since the epoch, stamped on snapshots"""

    @classmethod
    def checked(
        cls,
        fsync: str,
        interval_s: float,
        interval_records: int,
        keep_snapshots: int,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> StoreOptions:
        try:
            mode = FsyncMode(fsync)
        except ValueError:
            choices = ", ".join(m.value for m in FsyncMode)
            raise StoreUsageError(f"fsync must be one of {choices}, got {fsync!r}") from None
        if not interval_s > 0:
            raise StoreUsageError(f"interval_s must be > 0, got {interval_s!r}")
        if interval_records < 1 or keep_snapshots < 1:
            raise StoreUsageError("interval_records and keep_snapshots must be >= 1")
        return cls(mode, float(interval_s), interval_records, keep_snapshots, clock, wall_clock)
