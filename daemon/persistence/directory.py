"""The state directory: its lock, and getting a connection to its database.

Opening finishes or discards work a crash interrupted (`daemon.persistence.salvage`), creates
the database when there is none, refuses a file whose SQLite header is gone
(`StoreCorrupted`), and rebuilds a file that SQLite cannot even open from what is readable.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from pathlib import Path

from daemon.persistence.database import (
    LOCK_FILENAME,
    check_header,
    connect,
    create_database,
    side_file,
)
from daemon.persistence.errors import StoreCorrupted, StoreLocked
from daemon.persistence.recovery import RecoveryReport
from daemon.persistence.salvage import discard_leftovers, finish_rebuild, salvage

_log = logging.getLogger(__name__)


def lock_directory(state_dir: Path) -> int:
    """Hold `state.lock` (flock, released by the kernel if the process dies); returns the fd."""
    fd = os.open(state_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(f"{state_dir} is in use by another paperfund store") from None
    return fd


def locked_elsewhere(state_dir: Path) -> bool:
    """Whether another process holds `state_dir`'s lock; creates nothing (no lock file: no)."""
    try:
        fd = os.open(state_dir / LOCK_FILENAME, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False


def open_database(
    db_path: Path, synchronous: str
) -> tuple[sqlite3.Connection, RecoveryReport | None]:
    """Connect to the store at `db_path`, creating or rebuilding it as needed. The second
    value reports a rebuild done here (or finished after a crash), else None."""
    discard_leftovers(db_path)
    finished = finish_rebuild(db_path)
    earlier = None
    if finished is not None:
        detail = "completed a rebuild that a crash interrupted"
        earlier = RecoveryReport(records_ok=0, last_seq=0, detail=detail, quarantined=finished)
    if not db_path.exists():
        if side_file(db_path, "-wal").exists():
            raise StoreCorrupted(f"{db_path} is missing but its WAL is present; restore it")
        create_database(db_path)
    check_header(db_path)
    try:
        return connect(db_path, synchronous), earlier
    except StoreCorrupted as exc:
        _log.warning("state store %s unreadable (%s); rebuilding it", db_path, exc)
    report = salvage(db_path)
    return connect(db_path, synchronous), report
