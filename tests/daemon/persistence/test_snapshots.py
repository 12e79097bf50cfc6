"""Snapshots: atomic writes, the newest valid one wins, the last three are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.persistence import StateStore, StoreUsageError
from tests.daemon.persistence.store_support import FakeClock, assert_prefix, fill, raw_db


def test_latest_snapshot_and_replay_position(tmp_path: Path) -> None:
    wall = FakeClock()
    with StateStore.open(tmp_path, wall_clock=wall) as store:
        fill(store, 10)
        first = store.write_snapshot(10, b"fund at 10")
        fill(store, 5)
        assert store.snapshot_age() == 5
        assert store.snapshot_age(12) == 2
        wall.now = 200.0
        second = store.write_snapshot(15, b"fund at 15")
        assert second == first + 1
        snapshot = store.latest_snapshot()
        assert snapshot is not None
        assert (snapshot.id, snapshot.journal_seq, snapshot.payload) == (second, 15, b"fund at 15")
        assert snapshot.created_unix == 200.0
        assert store.snapshot_age() == 0
    with StateStore.open(tmp_path) as store:
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.journal_seq == 15
        assert list(store.records(snapshot.journal_seq)) == []
        assert store.recovery_report.snapshots_ok == 2


def test_snapshot_age_without_snapshot_counts_the_whole_journal(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        fill(store, 4)
        assert store.snapshot_age() == 4


def test_only_the_newest_three_are_kept(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        for n in range(1, 7):
            fill(store, 1)
            store.write_snapshot(n, f"fund {n}".encode())
    with raw_db(tmp_path) as conn:
        kept = conn.execute("SELECT journal_seq FROM snapshots ORDER BY id").fetchall()
    assert kept == [(4,), (5,), (6,)]
    with StateStore.open(tmp_path, keep_snapshots=1) as store:
        fill(store, 1)
        store.write_snapshot(7, b"fund 7")
    with raw_db(tmp_path) as conn:
        assert conn.execute("SELECT journal_seq FROM snapshots").fetchall() == [(7,)]


def test_snapshot_position_must_be_inside_the_journal(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        fill(store, 3)
        store.write_snapshot(0, b"empty fund")
        with pytest.raises(StoreUsageError, match="outside the journal"):
            store.write_snapshot(4, b"future")
        with pytest.raises(StoreUsageError):
            store.write_snapshot(-1, b"past")


def test_corrupt_newest_snapshot_falls_back_to_older(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        fill(store, 20)
        store.write_snapshot(10, b"fund at 10")
        newest = store.write_snapshot(20, b"fund at 20")
    with raw_db(tmp_path) as conn:
        conn.execute("UPDATE snapshots SET payload = ? WHERE id = ?", (b"fund at 2O", newest))
    with StateStore.open(tmp_path) as store:
        report = store.recovery_report
        assert report.corrupt_snapshots == (newest,)
        assert report.snapshots_ok == 1
        assert not report.clean
        assert "corrupt snapshots deleted" in report.summary()
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.payload == b"fund at 10"
        assert [r.seq for r in store.records(snapshot.journal_seq)] == list(range(11, 21))
    with StateStore.open(tmp_path) as store:
        assert store.recovery_report.clean  # reported once, then gone


def test_damage_after_open_is_skipped_by_latest_snapshot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with StateStore.open(tmp_path) as store:
        fill(store, 2)
        store.write_snapshot(1, b"one")
        newest = store.write_snapshot(2, b"two")
        with raw_db(tmp_path) as conn:
            conn.execute("UPDATE snapshots SET checksum = checksum + 1 WHERE id = ?", (newest,))
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.payload == b"one"
        assert store.snapshot_age() == 1
    assert "fails its check" in caplog.text


def test_compact_drops_only_what_the_oldest_kept_snapshot_covers(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        fill(store, 10)
        assert store.compact(8) == 0  # no snapshot: nothing is covered
        store.write_snapshot(4, b"at 4")
        fill(store, 5)
        store.write_snapshot(12, b"at 12")
        assert store.compact(100) == 4  # limited by the oldest kept snapshot
        assert store.compacted_through == 4
        assert store.journal_size_bytes() == 11 * 300
        assert store.compact(100) == 0
        with pytest.raises(StoreUsageError, match="compacted"):
            store.records(2)
        assert [r.seq for r in store.records(4)][:2] == [5, 6]
        assert store.append("slice", b"x" * 300) == 16
    with StateStore.open(tmp_path) as store:
        assert store.recovery_report.clean
        assert store.last_seq == 16
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.journal_seq == 12


def test_compacted_journal_still_recovers_as_a_prefix(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        fill(store, 10)
        store.write_snapshot(6, b"at 6")
        store.compact(7)
    with StateStore.open(tmp_path) as store:
        assert store.compacted_through == 6
        assert assert_prefix(store) == 10
