"""The recovery check run on every open: verify, report, cut back.

The journal is scanned in order. Every record must carry the next sequence number, columns of
the right types and a matching checksum. The first record that does not (reasons: `checksum`,
`gap`, `undecodable`, or `unreadable` when SQLite itself reports a damaged page) is reported,
and it and every record after it are deleted, so the journal ends at its last complete record.
Records after a bad one are never kept: replaying them would skip the lost one silently.

Snapshots are checked the same way; a corrupt one is reported, deleted, and the newest valid
one is used instead. If the cut leaves the journal behind the newest valid snapshot, the
journal is re-based on that snapshot (`journal_rebased_to`): the records it covers are
dropped and numbering continues after it, so nothing appended later can be mistaken for a
record inside it.

Damage that SQLite reports (a malformed page) cannot be repaired with SQL in place; that case
is handed to `daemon.persistence.salvage`, which rebuilds the file from its readable prefix.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from daemon.persistence.database import (
    is_damage,
    read_compacted_through,
    write_compacted_through,
)
from daemon.persistence.records import record_checksum, snapshot_checksum

JournalRow = tuple[int, str, int, bytes]
"""seq, kind, checksum, payload"""
SnapshotRow = tuple[int, int, float, int, bytes]
"""id, journal_seq, created_unix, checksum, payload"""


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What the recovery check found and did. `clean` is True when it changed nothing.

    `records_ok` records verified (`last_seq` is now the journal's end). The first bad
    record is `first_bad_seq` (`reason`, `detail`); it and the `records_dropped` records after
    it were deleted. `records_dropped` is None when page damage made them uncountable.
    `corrupt_snapshots` lists the ids of snapshots that failed their check and were deleted.
    `quarantined` is where a damaged database file was moved when it had to be rebuilt."""

    records_ok: int
    last_seq: int
    first_bad_seq: int | None = None
    reason: str | None = None
    detail: str = ""
    records_dropped: int | None = 0
    snapshots_ok: int = 0
    corrupt_snapshots: tuple[int, ...] = ()
    journal_rebased_to: int | None = None
    quarantined: Path | None = None

    @property
    def clean(self) -> bool:
        return (
            self.reason is None
            and not self.corrupt_snapshots
            and self.journal_rebased_to is None
            and self.quarantined is None
        )

    def summary(self) -> str:
        parts = [f"{self.records_ok} journal records ok (last seq {self.last_seq})"]
        if self.reason is not None:
            dropped = "an unknown number of" if self.records_dropped is None else None
            parts.append(
                f"first bad record seq {self.first_bad_seq} ({self.reason}: {self.detail}); "
                f"{dropped or self.records_dropped} records dropped"
            )
        parts.append(f"{self.snapshots_ok} snapshots ok")
        if self.corrupt_snapshots:
            parts.append(f"corrupt snapshots deleted: {list(self.corrupt_snapshots)}")
        if self.journal_rebased_to is not None:
            parts.append(f"journal re-based on the snapshot at seq {self.journal_rebased_to}")
        if self.quarantined is not None:
            parts.append(f"damaged database moved to {self.quarantined}")
        return "; ".join(parts)


@dataclass(slots=True)
class JournalScan:
    """Running result of a journal scan; `last_seq` starts at the compaction point."""

    last_seq: int
    records_ok: int = 0
    payload_bytes: int = 0
    first_bad_seq: int | None = None
    reason: str | None = None
    detail: str = ""


@dataclass(slots=True)
class SnapshotScan:
    valid: list[tuple[int, int]] = field(default_factory=list)
    """(id, journal_seq) of snapshots that verify"""
    corrupt: list[int] = field(default_factory=list)
    unreadable: bool = False


@dataclass(frozen=True, slots=True)
class JournalState:
    """What the store keeps in memory about the journal after a recovery check."""

    compacted_through: int
    last_seq: int
    payload_bytes: int
    snapshot_seq: int | None


def scan_journal(
    conn: sqlite3.Connection, base: int, keep: Callable[[JournalRow], object] | None = None
) -> JournalScan:
    """Verify records in order from `base + 1`; stop at the first bad one. Good rows are
    passed to `keep` (salvage copies them). Raises only for non-damage SQLite errors."""
    scan = JournalScan(last_seq=base)
    try:
        cursor = conn.execute(
            "SELECT seq, typeof(kind), CAST(kind AS BLOB), checksum, typeof(payload), "
            "CAST(payload AS BLOB) FROM journal ORDER BY seq"
        )
        for raw in cursor:
            row = _journal_row(raw, scan)
            if row is None:
                break
            if keep is not None:
                keep(row)
            scan.last_seq = row[0]
            scan.records_ok += 1
            scan.payload_bytes += len(row[3])
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        _fail(scan, scan.last_seq + 1, "unreadable", str(exc))
    return scan


def _journal_row(raw: tuple[object, ...], scan: JournalScan) -> JournalRow | None:
    seq, kind_type, kind_bytes, checksum, payload_type, payload = raw
    expected = scan.last_seq + 1
    if seq != expected:
        _fail(scan, expected, "gap", f"expected seq {expected}, found {seq!r}")
        return None
    types_ok = (
        kind_type == "text"
        and payload_type == "blob"
        and isinstance(kind_bytes, bytes)
        and isinstance(payload, bytes)
        and isinstance(checksum, int)
    )
    if not types_ok:
        _fail(scan, expected, "undecodable", f"column types {kind_type}/{payload_type}")
        return None
    assert isinstance(kind_bytes, bytes) and isinstance(payload, bytes)
    assert isinstance(checksum, int)
    try:
        kind = kind_bytes.decode("utf-8")
    except UnicodeDecodeError:
        _fail(scan, expected, "undecodable", "kind is not UTF-8")
        return None
    if record_checksum(expected, kind, payload) != checksum:
        _fail(scan, expected, "checksum", "checksum mismatch")
        return None
    return expected, kind, checksum, payload


def _fail(scan: JournalScan, seq: int, reason: str, detail: str) -> None:
    scan.first_bad_seq, scan.reason, scan.detail = seq, reason, detail


def scan_snapshots(
    conn: sqlite3.Connection, keep: Callable[[SnapshotRow], object] | None = None
) -> SnapshotScan:
    """Verify every snapshot; damage in one snapshot does not hide the others."""
    scan = SnapshotScan()
    heads = _readable_heads(conn, scan)
    for head in heads:
        try:
            row = _verified_snapshot(conn, head)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            scan.unreadable = True
            row = None
        if row is None:
            scan.corrupt.append(head[0])
            continue
        if keep is not None:
            keep(row)
        scan.valid.append((row[0], row[1]))
    return scan


def _verified_snapshot(conn: sqlite3.Connection, head: tuple[Any, ...]) -> SnapshotRow | None:
    snapshot_id, journal_seq, created_unix, checksum = head
    if not all(isinstance(v, int) for v in (snapshot_id, journal_seq, checksum)):
        return None
    row = conn.execute(
        "SELECT typeof(payload), CAST(payload AS BLOB) FROM snapshots WHERE id = ?",
        (snapshot_id,),
    ).fetchone()
    if row is None or row[0] != "blob" or not isinstance(row[1], bytes):
        return None
    if snapshot_checksum(snapshot_id, journal_seq, row[1]) != checksum:
        return None
    # created_unix is information only, outside the checksum
    created = float(created_unix) if isinstance(created_unix, int | float) else 0.0
    return snapshot_id, journal_seq, created, checksum, row[1]


def _readable_heads(conn: sqlite3.Connection, scan: SnapshotScan) -> list[tuple[Any, ...]]:
    """Every snapshot's (id, journal_seq, created_unix, checksum) that SQLite can reach: read
    from both ends, so that one damaged page does not hide the snapshots behind it."""
    heads: dict[object, tuple[Any, ...]] = {}
    for order in ("ASC", "DESC"):
        try:
            for row in conn.execute(
                f"SELECT id, journal_seq, created_unix, checksum FROM snapshots ORDER BY id {order}"
            ):
                heads.setdefault(row[0], row)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            scan.unreadable = True
    return list(heads.values())


def repair_in_place(conn: sqlite3.Connection) -> tuple[RecoveryReport, JournalState] | None:
    """Verify and cut back inside one transaction. None means SQLite reported page damage,
    which only a rebuild can repair (nothing was changed)."""
    base = read_compacted_through(conn)
    journal = scan_journal(conn, base)
    snapshots = scan_snapshots(conn)
    if journal.reason == "unreadable" or snapshots.unreadable:
        return None
    conn.execute("BEGIN IMMEDIATE")
    try:
        dropped = _cut(conn, base, journal, snapshots)
        rebased = _rebase(conn, journal, snapshots)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    base = rebased if rebased is not None else base
    replayable = [seq for _, seq in snapshots.valid if seq >= base]
    report = RecoveryReport(
        records_ok=journal.records_ok,
        last_seq=journal.last_seq,
        first_bad_seq=journal.first_bad_seq,
        reason=journal.reason,
        detail=journal.detail,
        records_dropped=dropped,
        snapshots_ok=len(snapshots.valid),
        corrupt_snapshots=tuple(snapshots.corrupt),
        journal_rebased_to=rebased,
    )
    state = JournalState(
        compacted_through=base,
        last_seq=journal.last_seq,
        payload_bytes=journal.payload_bytes,
        snapshot_seq=max(replayable, default=None),
    )
    return report, state


def _cut(conn: sqlite3.Connection, base: int, journal: JournalScan, snapshots: SnapshotScan) -> int:
    dropped = 0
    if journal.first_bad_seq is not None:
        # `seq <= base` also removes rows left below the compaction point (a gap at its start).
        dropped = conn.execute(
            "DELETE FROM journal WHERE seq >= ? OR seq <= ?", (journal.first_bad_seq, base)
        ).rowcount
    for snapshot_id in snapshots.corrupt:
        conn.execute("DELETE FROM snapshots WHERE id = ?", (snapshot_id,))
    return dropped


def _rebase(conn: sqlite3.Connection, journal: JournalScan, snapshots: SnapshotScan) -> int | None:
    """Move the journal's start past the newest valid snapshot when the journal ends before it."""
    newest = max((seq for _, seq in snapshots.valid), default=None)
    if newest is None or newest <= journal.last_seq:
        return None
    conn.execute("DELETE FROM journal")
    write_compacted_through(conn, newest)
    journal.last_seq = newest
    journal.payload_bytes = 0
    return newest


def merge_salvage(salvaged: RecoveryReport, after: RecoveryReport) -> RecoveryReport:
    """One report for a rebuild followed by the recovery check of the rebuilt file."""
    bad = salvaged if salvaged.reason is not None else after
    return replace(
        after,
        first_bad_seq=bad.first_bad_seq,
        reason=bad.reason,
        detail=bad.detail or salvaged.detail,
        records_dropped=bad.records_dropped,
        corrupt_snapshots=salvaged.corrupt_snapshots + after.corrupt_snapshots,
        quarantined=salvaged.quarantined or after.quarantined,
    )
