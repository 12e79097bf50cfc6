"""`StateStore`: the journal and snapshots of one fund, in SQLite under a state directory.

What each `fsync` mode guarantees: `daemon.persistence.durability`. What the recovery check
run by `open` does: `daemon.persistence.recovery`.

Bounded growth (older snapshots pruned, the journal compacted behind the oldest kept one):
`daemon.persistence.compaction`.

A store is used by one thread at a time (its connection may move between threads, e.g. with
`asyncio.to_thread`); one store at a time holds a state directory (`StoreLocked`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from daemon.persistence.compaction import compaction_point, delete_through, snapshots_held
from daemon.persistence.cut import JournalCut, cut_journal
from daemon.persistence.database import (
    DB_FILENAME,
    close_quietly,
    connect,
    is_damage,
    side_file,
)
from daemon.persistence.directory import lock_directory, open_database
from daemon.persistence.durability import FsyncMode, StoreOptions
from daemon.persistence.errors import (
    StoreClosed,
    StoreCorrupted,
    StoreError,
    StoreIOError,
    StoreUsageError,
)
from daemon.persistence.records import (
    JournalRecord,
    Snapshot,
    check_kind,
    check_payload,
    record_checksum,
)
from daemon.persistence.recovery import (
    JournalState,
    RecoveryReport,
    merge_salvage,
    repair_in_place,
)
from daemon.persistence.salvage import salvage
from daemon.persistence.snapshots import first_valid_snapshot, insert_snapshot

_log = logging.getLogger(__name__)
_READ_BATCH = 512
_INSERT_RECORD = "INSERT INTO journal (seq, kind, checksum, payload) VALUES (?, ?, ?, ?)"
_SELECT_RECORDS = (
    "SELECT seq, kind, checksum, payload FROM journal WHERE seq > ? ORDER BY seq LIMIT ?"
)


class StateStore:
    """Append-only journal plus snapshots; `open` creates or recovers one."""

    recovery_report: RecoveryReport
    """What the recovery check run by `open` found and repaired: the caller logs it."""

    def __init__(
        self, db_path: Path, conn: sqlite3.Connection, lock_fd: int, options: StoreOptions
    ) -> None:
        """Use `StateStore.open`."""
        self._db_path = db_path
        self._conn: sqlite3.Connection | None = conn
        self._lock_fd: int | None = lock_fd
        self._options = options
        self._batching = options.mode is FsyncMode.INTERVAL
        self._pending = 0
        self._pending_bytes = 0
        self._pending_since = 0.0
        self._compacted_through = 0
        self._last_seq = 0
        self._journal_bytes = 0
        self._snapshot_seq: int | None = None

    @classmethod
    def open(
        cls,
        state_dir: Path,
        fsync: str = "every_slice",
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        interval_records: int = 1000,
        keep_snapshots: int = 3,
        wall_clock: Callable[[], float] = time.time,
    ) -> StateStore:
        """Open (creating if needed) the store in `state_dir` and run the recovery check,
        whose result is `recovery_report`. Raises `StoreLocked`, `SchemaTooNew`,
        `StoreCorrupted` (damage that cannot be cut back) or `StoreIOError`."""
        options = StoreOptions.checked(
            fsync, interval_s, interval_records, keep_snapshots, clock, wall_clock
        )
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        lock_fd = lock_directory(state_dir)
        db_path = state_dir / DB_FILENAME
        try:
            conn, earlier = open_database(db_path, options.mode.synchronous)
        except BaseException:
            os.close(lock_fd)
            raise
        store = cls(db_path, conn, lock_fd, options)
        try:
            store.recovery_report = store._verify(earlier)
        except BaseException:
            store.close()
            raise
        return store

    # ---- journal ---------------------------------------------------------------------------

    def append(self, kind: str, payload: bytes) -> int:
        """Append one record; returns its sequence number (1, 2, 3...)."""
        conn = self._require_conn()
        data = check_payload(payload)
        seq = self._last_seq + 1
        row = (seq, check_kind(kind), record_checksum(seq, kind, data), data)
        try:
            if self._batching and not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
                self._pending_since = self._options.clock()
            conn.execute(_INSERT_RECORD, row)
        except sqlite3.Error as exc:
            raise self._write_failed(exc, "append") from exc
        self._last_seq = seq
        self._journal_bytes += len(data)
        if self._batching:
            self._pending += 1
            self._pending_bytes += len(data)
            self.flush_if_due()
        return seq

    def flush(self) -> None:
        """Commit the records appended since the last commit (interval mode)."""
        conn = self._require_conn()
        if not conn.in_transaction:
            return
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._write_failed(exc, "commit") from exc
        self._pending = self._pending_bytes = 0

    def flush_if_due(self) -> bool:
        """In interval mode, commit if the interval has passed; the daemon calls this on a
        timer so that records do not wait for the next append. True if it committed."""
        self._require_conn()
        waited_s = self._options.clock() - self._pending_since
        due = self._pending >= self._options.interval_records or (
            self._pending > 0 and waited_s >= self._options.interval_s
        )
        if due:
            self.flush()
        return due

    def records(self, after_seq: int = 0) -> Iterator[JournalRecord]:
        """Records with seq > `after_seq`, in order, each checked again as it is read
        (damage found now raises `StoreCorrupted`; it is never returned as data)."""
        self._require_conn()
        if after_seq < self._compacted_through:
            raise StoreUsageError(
                f"records up to seq {self._compacted_through} were compacted away; "
                f"cannot read from seq {after_seq + 1}"
            )
        return self._iter_records(after_seq)

    def _iter_records(self, after_seq: int) -> Iterator[JournalRecord]:
        expected = after_seq + 1
        while True:
            with self._sql_errors("read"):
                conn = self._require_conn()
                batch = conn.execute(_SELECT_RECORDS, (expected - 1, _READ_BATCH)).fetchall()
            for seq, kind, checksum, payload in batch:
                if seq != expected or record_checksum(seq, kind, payload) != checksum:
                    raise StoreCorrupted(f"{self._db_path}: record {expected} damaged since open")
                yield JournalRecord(seq, kind, payload)
                expected += 1
            if len(batch) < _READ_BATCH:
                return

    # ---- snapshots -------------------------------------------------------------------------

    def write_snapshot(self, journal_seq: int, payload: bytes) -> int:
        """Store the fund as of journal record `journal_seq` in one transaction; returns its
        id. Commits pending records first; keeps the newest `keep_snapshots` snapshots and,
        once it holds that many, compacts the journal behind the oldest of them
        (`daemon.persistence.compaction`)."""
        conn = self._require_conn()
        data = check_payload(payload)
        if not self._compacted_through <= journal_seq <= self._last_seq:
            raise StoreUsageError(
                f"snapshot position {journal_seq} outside the journal "
                f"[{self._compacted_through}, {self._last_seq}]"
            )
        self.flush()
        created_unix = self._options.wall_clock()
        try:
            snapshot_id = insert_snapshot(
                conn, journal_seq, data, created_unix, self._options.keep_snapshots
            )
        except sqlite3.Error as exc:
            raise self._write_failed(exc, "snapshot") from exc
        self._snapshot_seq = max(journal_seq, self._snapshot_seq or 0)
        self._compact_behind_kept()
        return snapshot_id

    def latest_snapshot(self) -> Snapshot | None:
        """The newest snapshot whose checksum verifies; one that fails is logged and skipped
        in favour of an older one."""
        with self._sql_errors("read"):
            conn = self._require_conn()
            snapshot = first_valid_snapshot(conn, self._compacted_through, newest_first=True)
        self._snapshot_seq = None if snapshot is None else snapshot.journal_seq
        return snapshot

    # ---- recovery and maintenance ----------------------------------------------------------

    def verify(self) -> RecoveryReport:
        """Run the recovery check (`open` already did): verify, report, cut back."""
        return self._verify(None)

    def _verify(self, earlier: RecoveryReport | None) -> RecoveryReport:
        self.flush()
        repaired = self._try_repair()
        if repaired is None:
            close_quietly(self._require_conn())
            self._conn = None
            earlier = salvage(self._db_path)
            self._conn = connect(self._db_path, self._options.mode.synchronous)
            repaired = self._try_repair()
            if repaired is None:
                raise StoreCorrupted(f"{self._db_path}: still damaged after a rebuild")
        report, state = repaired
        if earlier is not None:
            report = merge_salvage(earlier, report)
        self._apply(state)
        if not report.clean:
            _log.warning("state store recovery: %s", report.summary())
        return report

    def _try_repair(self) -> tuple[RecoveryReport, JournalState] | None:
        try:
            return repair_in_place(self._require_conn())
        except sqlite3.Error as exc:
            if is_damage(exc):
                return None
            raise StoreIOError(f"{self._db_path}: recovery check failed: {exc}") from exc

    def _compact_behind_kept(self) -> int:
        """Compact through the oldest kept valid snapshot, once `keep_snapshots` are held."""
        with self._sql_errors("read"):
            held = snapshots_held(self._require_conn())
        if held < self._options.keep_snapshots:
            return 0
        return self.compact(self._last_seq + 1)

    def compact(self, before_seq: int) -> int:
        """Delete journal records with seq < `before_seq` that the oldest kept valid snapshot
        covers (never more), in one transaction; returns how many. `write_snapshot` calls it
        once `keep_snapshots` snapshots are held."""
        conn = self._require_conn()
        self.flush()
        with self._sql_errors("read"):
            through = compaction_point(conn, self._compacted_through, before_seq)
        if through is None:
            return 0
        try:
            deleted, freed = delete_through(conn, through)
        except sqlite3.Error as exc:
            raise self._write_failed(exc, "compact") from exc
        self._compacted_through = through
        self._journal_bytes -= freed
        return deleted

    def cut(self, seq: int, *, dry_run: bool = False) -> JournalCut:
        """Delete journal record `seq`, the records after it and the snapshots that hold their
        effects (`daemon.persistence.cut`): the way out of a record that fails on replay."""
        self.flush()
        with self._sql_errors("cut"):
            cut = cut_journal(self._require_conn(), seq, self._compacted_through, dry_run=dry_run)
        if not dry_run:
            self.verify()
        return cut

    # ---- state, for metrics ----------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """Sequence number of the last appended record (0 for an empty journal)."""
        return self._last_seq

    @property
    def compacted_through(self) -> int:
        """Records up to this seq were compacted away (0: none)."""
        return self._compacted_through

    @property
    def pending_records(self) -> int:
        """Records appended but not yet committed (interval mode)."""
        return self._pending

    @property
    def options(self) -> StoreOptions:
        return self._options

    @property
    def path(self) -> Path:
        return self._db_path

    @property
    def closed(self) -> bool:
        return self._conn is None

    def journal_size_bytes(self) -> int:
        """Total payload bytes of the journal records held (not the file size)."""
        self._require_conn()
        return self._journal_bytes

    def file_size_bytes(self) -> int:
        """Bytes on disk of the database and its WAL."""
        paths = (self._db_path, side_file(self._db_path, "-wal"))
        return sum(p.stat().st_size for p in paths if p.exists())

    def snapshot_age(self, seq: int | None = None) -> int:
        """Journal records after the newest valid snapshot up to `seq` (default: the last):
        what a restart would replay. Without a snapshot, counted from the journal's start."""
        end = self._last_seq if seq is None else seq
        start = self._compacted_through if self._snapshot_seq is None else self._snapshot_seq
        return max(0, end - start)

    # ---- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Commit pending records, close the database and release the directory. Idempotent."""
        conn, self._conn = self._conn, None
        lock_fd, self._lock_fd = self._lock_fd, None
        try:
            if conn is not None and conn.in_transaction:
                conn.execute("COMMIT")
        finally:
            if conn is not None:
                conn.close()
            if lock_fd is not None:
                os.close(lock_fd)

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- internals -------------------------------------------------------------------------

    def _apply(self, state: JournalState) -> None:
        self._compacted_through = state.compacted_through
        self._last_seq = state.last_seq
        self._journal_bytes = state.payload_bytes
        self._snapshot_seq = state.snapshot_seq

    def _require_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreClosed(f"{self._db_path}: store is closed")
        return self._conn

    @contextlib.contextmanager
    def _sql_errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            if is_damage(exc):
                raise StoreCorrupted(f"{self._db_path}: {action} met damage: {exc}") from exc
            raise StoreIOError(f"{self._db_path}: {action} failed: {exc}") from exc

    def _write_failed(self, exc: sqlite3.Error, action: str) -> StoreError:
        """Resynchronise after a failed write: SQLite may have rolled the transaction back."""
        conn = self._require_conn()
        lost = ""
        if conn.in_transaction and self._pending == 0:
            conn.execute("ROLLBACK")  # a failed compaction; no records were waiting
        if self._pending and not conn.in_transaction:
            lost = f"; the {self._pending} uncommitted records were rolled back and are lost"
            self._last_seq -= self._pending
            self._journal_bytes -= self._pending_bytes
            self._pending = self._pending_bytes = 0
        if is_damage(exc):
            return StoreCorrupted(f"{self._db_path}: {action} failed, damaged file: {exc}{lost}")
        return StoreIOError(f"{self._db_path}: {action} failed: {exc}{lost}")
