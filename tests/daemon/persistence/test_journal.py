"""The journal: order, sequence numbers, reopening, and each durability mode's commits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from daemon.persistence import (
    FsyncMode,
    SchemaTooNew,
    StateStore,
    StoreClosed,
    StoreLocked,
    StoreUsageError,
)
from daemon.persistence.database import DB_FILENAME
from tests.daemon.persistence.store_support import (
    FakeClock,
    assert_prefix,
    db_path,
    fill,
    payload_for,
    raw_db,
)


def committed_seqs(state_dir: Path) -> list[int]:
    """What another connection sees: only committed records."""
    conn = sqlite3.connect(db_path(state_dir))
    try:
        return [seq for (seq,) in conn.execute("SELECT seq FROM journal ORDER BY seq")]
    finally:
        conn.close()


def test_a_new_store_is_empty_and_clean(tmp_path: Path) -> None:
    with StateStore.open(tmp_path / "state") as store:
        assert store.last_seq == 0
        assert list(store.records()) == []
        assert store.latest_snapshot() is None
        assert store.recovery_report.clean
        assert store.journal_size_bytes() == 0
        assert store.path == tmp_path / "state" / DB_FILENAME


def test_appends_are_numbered_and_read_back_in_order(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        assert store.append("slice", b"first") == 1
        assert store.append("command", b'{"type":"pause"}') == 2
        assert fill(store, 50) == list(range(3, 53))
        records = list(store.records())
        assert [r.seq for r in records] == list(range(1, 53))
        assert (records[0].kind, records[0].payload) == ("slice", b"first")
        assert (records[1].kind, records[1].payload) == ("command", b'{"type":"pause"}')
        assert [r.seq for r in store.records(after_seq=50)] == [51, 52]
        assert list(store.records(after_seq=52)) == []
        assert store.journal_size_bytes() == 5 + 16 + 50 * 300


def test_reading_crosses_batches(tmp_path: Path) -> None:
    with StateStore.open(tmp_path, "off") as store:
        fill(store, 1500)
        assert assert_prefix(store) == 1500
        assert [r.seq for r in store.records(1023)][:2] == [1024, 1025]


def test_reopen_continues_the_journal(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        fill(store, 20)
    with StateStore.open(tmp_path) as store:
        assert store.recovery_report.clean
        assert store.recovery_report.records_ok == 20
        assert store.last_seq == 20
        assert store.append("slice", payload_for(21)) == 21
        assert store.journal_size_bytes() == 21 * 300
    with StateStore.open(tmp_path) as store:
        assert assert_prefix(store) == 21


@pytest.mark.parametrize("mode", list(FsyncMode))
def test_every_mode_stores_and_recovers(tmp_path: Path, mode: FsyncMode) -> None:
    with StateStore.open(tmp_path, mode.value) as store:
        fill(store, 30)
        store.write_snapshot(30, b"fund")
        fill(store, 5)
    (synchronous,) = _pragma(tmp_path, mode)
    assert synchronous == {"every_slice": 2, "interval": 1, "off": 0}[mode.value]
    with StateStore.open(tmp_path, mode.value) as store:
        assert store.recovery_report.clean
        assert assert_prefix(store) == 35
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.journal_seq == 30


def _pragma(state_dir: Path, mode: FsyncMode) -> tuple[int]:
    with StateStore.open(state_dir, mode.value) as store:
        conn = store._require_conn()
        row: tuple[int] = conn.execute("PRAGMA synchronous").fetchone()
        (journal_mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        assert journal_mode == "wal"
        return row


@pytest.mark.parametrize("mode", ["every_slice", "off"])
def test_per_record_modes_commit_each_append(tmp_path: Path, mode: str) -> None:
    with StateStore.open(tmp_path, mode) as store:
        fill(store, 3)
        assert committed_seqs(tmp_path) == [1, 2, 3]
        assert store.pending_records == 0


def test_interval_mode_commits_after_interval_s(tmp_path: Path) -> None:
    clock = FakeClock()
    with StateStore.open(tmp_path, "interval", interval_s=1.0, clock=clock) as store:
        fill(store, 3)
        assert committed_seqs(tmp_path) == []
        assert store.pending_records == 3
        assert not store.flush_if_due()
        clock.now += 1.0
        assert store.flush_if_due()
        assert committed_seqs(tmp_path) == [1, 2, 3]
        fill(store, 1)
        clock.now += 0.5
        fill(store, 1)
        assert committed_seqs(tmp_path) == [1, 2, 3]
        clock.now += 0.5  # one interval after the oldest waiting record: the next append commits
        fill(store, 1)
        assert committed_seqs(tmp_path) == list(range(1, 7))
        fill(store, 2)
    assert committed_seqs(tmp_path) == list(range(1, 9))  # close commits


def test_interval_mode_commits_every_k_records_and_on_flush(tmp_path: Path) -> None:
    clock = FakeClock()
    with StateStore.open(tmp_path, "interval", clock=clock, interval_records=10) as store:
        fill(store, 9)
        assert committed_seqs(tmp_path) == []
        fill(store, 1)
        assert committed_seqs(tmp_path) == list(range(1, 11))
        fill(store, 2)
        assert store.records(10).__next__().seq == 11  # pending records are readable
        store.flush()
        assert committed_seqs(tmp_path) == list(range(1, 13))
        fill(store, 1)
        store.write_snapshot(13, b"s")  # a snapshot commits the journal first
        assert committed_seqs(tmp_path) == list(range(1, 14))


def test_bad_arguments_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(StoreUsageError, match="fsync must be one of"):
        StateStore.open(tmp_path, "sometimes")
    with pytest.raises(StoreUsageError, match="interval_s"):
        StateStore.open(tmp_path, "interval", interval_s=0)
    with StateStore.open(tmp_path) as store:
        for kind in ("", "Slice", "a b", "x" * 40):
            with pytest.raises(StoreUsageError, match="kind"):
                store.append(kind, b"p")
        with pytest.raises(StoreUsageError, match="bytes"):
            store.append("slice", "text")  # type: ignore[arg-type]
        assert store.last_seq == 0


def test_one_store_per_directory(tmp_path: Path) -> None:
    with StateStore.open(tmp_path), pytest.raises(StoreLocked):
        StateStore.open(tmp_path)
    with StateStore.open(tmp_path) as store:  # released on close
        assert store.recovery_report.clean


def test_closed_store_refuses_use(tmp_path: Path) -> None:
    store = StateStore.open(tmp_path)
    store.close()
    store.close()
    assert store.closed
    with pytest.raises(StoreClosed):
        store.append("slice", b"x")
    with pytest.raises(StoreClosed):
        store.records()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    StateStore.open(tmp_path).close()
    with raw_db(tmp_path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(SchemaTooNew, match="schema version 99"):
        StateStore.open(tmp_path)
    with pytest.raises(SchemaTooNew):  # not StoreLocked: the failed open released the lock
        StateStore.open(tmp_path)
