"""Snapshot rows: writing one (and pruning old ones) and finding the newest that verifies.

Snapshots are ordered by (journal_seq, id): the newest is the one covering the most journal.
Only snapshots at or after the compaction point count, since older ones can no longer be
followed by a replay.
"""

from __future__ import annotations

import logging
import sqlite3

from daemon.persistence.database import is_damage
from daemon.persistence.records import Snapshot, snapshot_checksum

_log = logging.getLogger(__name__)
_INSERT = (
    "INSERT INTO snapshots (id, journal_seq, created_unix, checksum, payload) "
    "VALUES (?, ?, ?, ?, ?)"
)
_PRUNE = (
    "DELETE FROM snapshots WHERE id NOT IN "
    "(SELECT id FROM snapshots ORDER BY journal_seq DESC, id DESC LIMIT ?)"
)
_HEADS = (
    "SELECT id, journal_seq, created_unix, checksum FROM snapshots WHERE journal_seq >= ? "
    "ORDER BY journal_seq {order}, id {order}"
)


def insert_snapshot(
    conn: sqlite3.Connection, journal_seq: int, payload: bytes, created_unix: float, keep: int
) -> int:
    """Insert and prune in one transaction (the caller has committed everything else)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        (snapshot_id,) = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM snapshots").fetchone()
        checksum = snapshot_checksum(snapshot_id, journal_seq, payload)
        conn.execute(_INSERT, (snapshot_id, journal_seq, created_unix, checksum, payload))
        conn.execute(_PRUNE, (keep,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return int(snapshot_id)


def first_valid_snapshot(
    conn: sqlite3.Connection, compacted_through: int, *, newest_first: bool
) -> Snapshot | None:
    """The newest (or oldest) snapshot that verifies; those that fail are logged and skipped."""
    order = "DESC" if newest_first else "ASC"
    heads = conn.execute(_HEADS.format(order=order), (compacted_through,)).fetchall()
    for snapshot_id, journal_seq, created_unix, checksum in heads:
        payload = _payload(conn, snapshot_id)
        if payload is not None and snapshot_checksum(snapshot_id, journal_seq, payload) == checksum:
            return Snapshot(snapshot_id, journal_seq, payload, created_unix)
        _log.warning(
            "snapshot %s (journal seq %s) fails its check; skipped", snapshot_id, journal_seq
        )
    return None


def _payload(conn: sqlite3.Connection, snapshot_id: int) -> bytes | None:
    try:
        row = conn.execute("SELECT payload FROM snapshots WHERE id = ?", (snapshot_id,)).fetchone()
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return None  # an unreadable page counts as a failed checksum
    payload = None if row is None else row[0]
    return payload if isinstance(payload, bytes) else None
