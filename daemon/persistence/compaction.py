"""Bounded growth of the journal: compaction behind the oldest kept snapshot.

The newest `keep_snapshots` snapshots are kept and, once that many are held,
`StateStore.write_snapshot` deletes the journal records the oldest valid one covers
(`StateStore.compact`, one transaction), so recovery always has a valid snapshot and its
complete tail even when newer snapshots are damaged. The freed pages are reused: the file
stops growing with the run. Until `keep_snapshots` are held the whole journal stays, so a fund
whose only snapshot is damaged can still be rebuilt from the journal's start.
"""

from __future__ import annotations

import sqlite3

from daemon.persistence.database import write_compacted_through
from daemon.persistence.snapshots import first_valid_snapshot

_COUNT_SNAPSHOTS = "SELECT COUNT(*) FROM snapshots"
_FREED = "SELECT COALESCE(SUM(length(payload)), 0) FROM journal WHERE seq <= ?"


def snapshots_held(conn: sqlite3.Connection) -> int:
    (held,) = conn.execute(_COUNT_SNAPSHOTS).fetchone()
    return int(held)


def compaction_point(
    conn: sqlite3.Connection, compacted_through: int, before_seq: int
) -> int | None:
    """The seq through which records with seq < `before_seq` may be deleted: never past the
    oldest kept valid snapshot; None when there is nothing to delete."""
    oldest = first_valid_snapshot(conn, compacted_through, newest_first=False)
    if oldest is None:
        return None
    through = min(before_seq - 1, oldest.journal_seq)
    if through <= compacted_through:
        return None
    return through


def delete_through(conn: sqlite3.Connection, through: int) -> tuple[int, int]:
    """Delete the journal records with seq <= `through` and record it, in one transaction;
    returns (records deleted, payload bytes freed)."""
    conn.execute("BEGIN IMMEDIATE")
    (freed,) = conn.execute(_FREED, (through,)).fetchone()
    deleted = conn.execute("DELETE FROM journal WHERE seq <= ?", (through,)).rowcount
    write_compacted_through(conn, through)
    conn.execute("COMMIT")
    return int(deleted), int(freed)
