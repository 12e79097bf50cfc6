"""The operator's way out of a journal record that fails on replay: cut the journal at it.

Replay is deterministic, so a record whose replay raises fails on every restart (the daemon
stops with a `JournalReplayError` naming it). `cut_journal(conn, seq)` deletes record `seq`,
every record after it, and every snapshot taken at or after it (a snapshot holds the effects
of the records before its `journal_seq`); the fund then resumes from the state just before
record `seq`. What was cut is lost to the fund: bars already acknowledged to their feed are
not delivered again, and a command among the records may be sent again.

The journal can only be cut after its compacted prefix, and only where a kept snapshot still
covers that prefix. `paperfund cut-journal` is the command line of this module.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from daemon.persistence.errors import StoreUsageError


@dataclass(frozen=True, slots=True)
class JournalCut:
    """What a cut at `seq` deletes (or deleted): `records` by kind, and `snapshots`."""

    seq: int
    records: dict[str, int]
    snapshots: int

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.records.items())) or "none"
        return (
            f"journal record {self.seq} and after: {sum(self.records.values())} records "
            f"({kinds}) and {self.snapshots} snapshots"
        )


def cut_journal(
    conn: sqlite3.Connection, seq: int, compacted_through: int, *, dry_run: bool = False
) -> JournalCut:
    """Delete journal records from `seq` on and the snapshots they are part of, in one
    transaction (nothing when `dry_run`). Raises `StoreUsageError`, changing nothing, for a
    `seq` outside the journal or one that would leave its compacted prefix uncovered."""
    (last,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()
    if not compacted_through < seq <= last:
        raise StoreUsageError(
            f"seq must be a journal record, from {compacted_through + 1} to {last}; got {seq}"
        )
    if (
        compacted_through
        and not conn.execute(
            "SELECT 1 FROM snapshots WHERE journal_seq >= ? AND journal_seq < ? LIMIT 1",
            (compacted_through, seq),
        ).fetchone()
    ):
        raise StoreUsageError(
            f"cutting at {seq} would delete every snapshot covering the journal compacted "
            f"through record {compacted_through}"
        )
    rows = conn.execute(
        "SELECT kind, COUNT(*) FROM journal WHERE seq >= ? GROUP BY kind", (seq,)
    ).fetchall()
    (snapshots,) = conn.execute(
        "SELECT COUNT(*) FROM snapshots WHERE journal_seq >= ?", (seq,)
    ).fetchone()
    cut = JournalCut(seq, {str(kind): int(n) for kind, n in rows}, int(snapshots))
    if dry_run:
        return cut
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM journal WHERE seq >= ?", (seq,))
        conn.execute("DELETE FROM snapshots WHERE journal_seq >= ?", (seq,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return cut
