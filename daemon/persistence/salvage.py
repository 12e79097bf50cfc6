"""Rebuilding a database that SQLite reports as damaged, from its readable prefix.

Used when a page is malformed or the file is shorter than its header says (a truncated file):
SQL cannot delete around such damage in place. Each step survives a kill -9:

1. copy the damaged file and its WAL to `state.sqlite3.salvage`, and zero the header's page
   count in the copy so SQLite reads a truncated file up to where it ends;
2. build `state.sqlite3.rebuilding`, an empty store, and copy into it every journal record up
   to the first bad one (the same checks as `recovery.scan_journal`) and every snapshot that
   verifies;
3. fsync it and rename it to `state.sqlite3.rebuilt`: the commit point;
4. move the damaged file and its WAL aside to `state.sqlite3.corrupt-N` (kept for the operator
   to inspect or delete) and rename the rebuilt file into place.

Every open runs `finish_rebuild`, which completes step 4 after a crash, and
`discard_leftovers`, which deletes the unfinished files of steps 1-2 and of a creation.
If the header, the schema or the store metadata cannot be read, nothing can be salvaged:
`StoreCorrupted` is raised and the files are left untouched.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from daemon.persistence.database import (
    build_database,
    check_schema,
    close_quietly,
    forget_page_count,
    fsync_path,
    read_compacted_through,
    remove_with_side_files,
    side_file,
    write_compacted_through,
)
from daemon.persistence.errors import StoreCorrupted, StoreIOError
from daemon.persistence.recovery import (
    JournalScan,
    RecoveryReport,
    SnapshotScan,
    scan_journal,
    scan_snapshots,
)

CREATING = ".creating"
SCRATCH = ".salvage"
BUILDING = ".rebuilding"
REBUILT = ".rebuilt"
_INSERT_RECORD = "INSERT INTO journal (seq, kind, checksum, payload) VALUES (?, ?, ?, ?)"
_INSERT_SNAPSHOT = (
    "INSERT INTO snapshots (id, journal_seq, created_unix, checksum, payload) "
    "VALUES (?, ?, ?, ?, ?)"
)


def discard_leftovers(db_path: Path) -> None:
    """Delete files of a creation or a salvage that a crash interrupted before their commit."""
    for suffix in (CREATING, SCRATCH, BUILDING):
        remove_with_side_files(side_file(db_path, suffix))


def finish_rebuild(db_path: Path) -> Path | None:
    """Put a committed rebuild in place; return where the damaged file went (None if none)."""
    rebuilt = side_file(db_path, REBUILT)
    if not rebuilt.exists():
        return None
    quarantine = _free_quarantine_name(db_path)
    moved = False
    for suffix in ("", "-wal"):
        damaged = side_file(db_path, suffix)
        if damaged.exists():
            os.replace(damaged, side_file(quarantine, suffix))
            moved = True
    side_file(db_path, "-shm").unlink(missing_ok=True)
    os.replace(rebuilt, db_path)
    fsync_path(db_path.parent)
    return quarantine if moved else None


def salvage(db_path: Path) -> RecoveryReport:
    """Rebuild `db_path` from its readable prefix (see the module docstring). The caller must
    hold the state directory's lock and have no connection open to the file."""
    scratch = side_file(db_path, SCRATCH)
    building = side_file(db_path, BUILDING)
    remove_with_side_files(scratch)
    shutil.copyfile(db_path, scratch)
    if side_file(db_path, "-wal").exists():
        shutil.copyfile(side_file(db_path, "-wal"), side_file(scratch, "-wal"))
    forget_page_count(scratch)
    try:
        journal, snapshots = _copy_readable(db_path, scratch, building)
    finally:
        remove_with_side_files(scratch)
    fsync_path(building)
    os.replace(building, side_file(db_path, REBUILT))
    fsync_path(db_path.parent)
    quarantined = finish_rebuild(db_path)
    return RecoveryReport(
        records_ok=journal.records_ok,
        last_seq=journal.last_seq,
        first_bad_seq=journal.first_bad_seq,
        reason=journal.reason,
        detail=journal.detail,
        # Records past page damage cannot be counted reliably: a damaged b-tree hides them.
        records_dropped=None if journal.first_bad_seq is not None else 0,
        snapshots_ok=len(snapshots.valid),
        corrupt_snapshots=tuple(snapshots.corrupt),
        quarantined=quarantined,
    )


def _copy_readable(
    db_path: Path, scratch: Path, building: Path
) -> tuple[JournalScan, SnapshotScan]:
    source = sqlite3.connect(scratch, isolation_level=None)
    try:
        base = _readable_base(source, db_path)
        build_database(building)
        target = sqlite3.connect(building, isolation_level=None)
        try:
            target.execute("BEGIN")
            journal = scan_journal(source, base, lambda row: target.execute(_INSERT_RECORD, row))
            snapshots = scan_snapshots(source, lambda row: target.execute(_INSERT_SNAPSHOT, row))
            write_compacted_through(target, base)
            target.execute("COMMIT")
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise StoreIOError(f"{db_path}: salvage failed: {exc}") from exc
    finally:
        close_quietly(source)
    if side_file(building, "-wal").exists():
        raise StoreIOError(f"{building}: SQLite left its WAL behind after closing")
    return journal, snapshots


def _readable_base(source: sqlite3.Connection, db_path: Path) -> int:
    try:
        check_schema(source, db_path)
        return read_compacted_through(source)
    except (sqlite3.Error, StoreCorrupted) as exc:
        raise StoreCorrupted(
            f"{db_path}: damaged beyond salvage (schema or metadata unreadable: {exc}). "
            "Restore the state directory from a backup, or move the file aside to start empty."
        ) from exc


def _free_quarantine_name(db_path: Path) -> Path:
    n = 1
    while True:
        candidate = side_file(db_path, f".corrupt-{n}")
        if not candidate.exists() and not side_file(candidate, "-wal").exists():
            return candidate
        n += 1
