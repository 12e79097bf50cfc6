"""The SQLite file of a state directory: schema, atomic creation, connections.

Schema version 1 (all tables in `state.sqlite3`, WAL mode):

    schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)
    meta           (key TEXT PRIMARY KEY, value INTEGER NOT NULL)
                   "compacted_through": journal records up to this seq were deleted
    journal        (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, checksum INTEGER NOT NULL,
                    payload BLOB NOT NULL)
    snapshots      (id INTEGER PRIMARY KEY, journal_seq INTEGER NOT NULL,
                    created_unix REAL NOT NULL, checksum INTEGER NOT NULL,
                    payload BLOB NOT NULL)

Payloads come last so that listing rows never reads a large payload's overflow pages.
A new database is built under a temporary name and renamed into place once complete, so an
existing `state.sqlite3` always has a valid header and schema: a file without one is damage,
never a half-created store.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from daemon.persistence.errors import SchemaTooNew, StoreCorrupted, StoreIOError

SCHEMA_VERSION = 1
DB_FILENAME = "state.sqlite3"
LOCK_FILENAME = "state.lock"
COMPACTED_THROUGH = "compacted_through"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_BYTES = 100
_IN_HEADER_PAGE_COUNT = 28
_DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024

_DDL = f"""
BEGIN;
CREATE TABLE schema_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    checksum INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    journal_seq INTEGER NOT NULL,
    created_unix REAL NOT NULL,
    checksum INTEGER NOT NULL,
    payload BLOB NOT NULL
);
INSERT INTO schema_version (id, version) VALUES (1, {SCHEMA_VERSION});
INSERT INTO meta (key, value) VALUES ('{COMPACTED_THROUGH}', 0);
COMMIT;
"""


def side_file(db_path: Path, suffix: str) -> Path:
    """`state.sqlite3-wal`, `state.sqlite3.rebuilt`...: files named after the database."""
    return db_path.with_name(db_path.name + suffix)


def is_damage(exc: sqlite3.Error) -> bool:
    """True when SQLite reports a damaged file rather than an I/O or usage problem."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _DAMAGE_CODES


def fsync_path(path: Path) -> None:
    """Flush a file's or a directory's contents (a directory: its entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_with_side_files(db_path: Path) -> None:
    for path in (db_path, side_file(db_path, "-wal"), side_file(db_path, "-shm")):
        path.unlink(missing_ok=True)


def build_database(path: Path) -> None:
    """Write an empty store at `path` (which must not be in use), complete and on disk."""
    remove_with_side_files(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_DDL)
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    if side_file(path, "-wal").exists():
        raise StoreIOError(f"{path}: SQLite left its WAL behind after closing")
    fsync_path(path)


def create_database(db_path: Path) -> None:
    """Create the store atomically: build it under a temporary name, then rename it."""
    building = side_file(db_path, ".creating")
    build_database(building)
    os.replace(building, db_path)
    fsync_path(db_path.parent)


def check_header(db_path: Path) -> None:
    """Refuse a file whose SQLite header is gone: there is nothing to recover a prefix from."""
    with open(db_path, "rb") as fh:
        head = fh.read(_HEADER_BYTES)
    if len(head) < _HEADER_BYTES or not head.startswith(_SQLITE_MAGIC):
        raise StoreCorrupted(
            f"{db_path}: the SQLite header is missing or damaged ({len(head)} bytes readable). "
            "Restore the state directory from a backup, or move the file aside to start empty."
        )


def forget_page_count(db_path: Path) -> None:
    """Zero the header's page count so SQLite sizes a truncated file by its length.

    SQLite refuses a database shorter than the page count its header records; without that
    field it reads what is there and reports damage only on the missing pages. Used on a
    scratch copy during salvage, never on the live file."""
    with open(db_path, "r+b") as fh:
        fh.seek(_IN_HEADER_PAGE_COUNT)
        fh.write(b"\x00\x00\x00\x00")


def connect(db_path: Path, synchronous: str) -> sqlite3.Connection:
    """Open the store in WAL mode and check its schema version.

    Damage raises `StoreCorrupted`, other SQLite failures `StoreIOError`."""
    try:
        conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreIOError(f"{db_path}: cannot open: {exc}") from exc
    try:
        _configure(conn, db_path, synchronous)
        check_schema(conn, db_path)
    except sqlite3.Error as exc:
        conn.close()
        if is_damage(exc):
            raise StoreCorrupted(f"{db_path}: unreadable store: {exc}") from exc
        raise StoreIOError(f"{db_path}: cannot open: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection, db_path: Path, synchronous: str) -> None:
    (mode,) = conn.execute("PRAGMA journal_mode=WAL").fetchone()
    if str(mode).lower() != "wal":
        raise StoreIOError(f"{db_path}: SQLite refused WAL mode (journal_mode={mode})")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT_BYTES}")


def check_schema(conn: sqlite3.Connection, db_path: Path) -> None:
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    if not {"schema_version", "meta", "journal", "snapshots"} <= tables:
        raise StoreCorrupted(f"{db_path} is not a paperfund state database (tables missing)")
    row = conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
    if row is None or not isinstance(row[0], int):
        raise StoreCorrupted(f"{db_path}: schema version unreadable")
    if row[0] > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{db_path} has schema version {row[0]}; this paperfund reads up to "
            f"{SCHEMA_VERSION}. Run the newer paperfund, or restore an older state directory."
        )
    if row[0] < 1:
        raise StoreCorrupted(f"{db_path}: invalid schema version {row[0]}")


def read_compacted_through(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (COMPACTED_THROUGH,)).fetchone()
    if row is None or not isinstance(row[0], int) or row[0] < 0:
        raise StoreCorrupted(f"store metadata {COMPACTED_THROUGH!r} is missing or invalid")
    return int(row[0])


def write_compacted_through(conn: sqlite3.Connection, seq: int) -> None:
    conn.execute("UPDATE meta SET value = ? WHERE key = ?", (seq, COMPACTED_THROUGH))


def close_quietly(conn: sqlite3.Connection) -> None:
    """Close a connection to a damaged file, where even closing may report the damage."""
    with contextlib.suppress(sqlite3.Error):
        conn.close()
