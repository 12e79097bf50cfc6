"""The recovery check: a bad record is reported, and it and everything after it are cut."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from daemon.persistence import StateStore, StoreCorrupted
from daemon.persistence.database import build_database, side_file
from daemon.persistence.salvage import BUILDING, CREATING, REBUILT, SCRATCH
from tests.daemon.persistence.store_support import (
    assert_prefix,
    db_path,
    fill,
    payload_for,
    raw_db,
)


def journal_of(state_dir: Path, count: int) -> None:
    with StateStore.open(state_dir) as store:
        fill(store, count)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("UPDATE journal SET payload = ? WHERE seq = 7", "checksum"),
        ("UPDATE journal SET checksum = (checksum + 1) % 4294967296 WHERE seq = 7", "checksum"),
        ("UPDATE journal SET kind = 'command' WHERE seq = 7", "checksum"),
        ("UPDATE journal SET seq = 1000 WHERE seq = 7", "gap"),
        ("DELETE FROM journal WHERE seq = 7", "gap"),
        ("UPDATE journal SET payload = 'now text' WHERE seq = 7", "undecodable"),
        ("UPDATE journal SET kind = CAST(x'ff' AS TEXT) WHERE seq = 7", "undecodable"),
        ("UPDATE journal SET checksum = 'x' WHERE seq = 7", "undecodable"),
    ],
)
def test_bad_record_is_reported_and_cut(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str, reason: str
) -> None:
    journal_of(tmp_path, 12)
    with raw_db(tmp_path) as conn:
        conn.execute(damage, (b"tampered",) if "?" in damage else ())
    with StateStore.open(tmp_path) as store:
        report = store.recovery_report
        assert (report.records_ok, report.first_bad_seq, report.reason) == (6, 7, reason)
        assert report.records_dropped == (5 if "DELETE" in damage else 6)
        assert report.last_seq == store.last_seq == 6
        assert not report.clean
        assert assert_prefix(store) == 6
        assert store.append("slice", payload_for(7)) == 7  # numbering resumes after the cut
    assert "first bad record seq 7" in caplog.text
    with StateStore.open(tmp_path) as store:
        assert store.recovery_report.clean
        assert assert_prefix(store) == 7


def test_flipped_byte_in_the_database_file_is_detected(tmp_path: Path) -> None:
    journal_of(tmp_path, 30)  # closing checkpoints the WAL: the records are in the main file
    raw = bytearray(db_path(tmp_path).read_bytes())
    where = raw.find(b"record 00000017 ")
    assert where > 0
    raw[where + 20] ^= 0x01
    db_path(tmp_path).write_bytes(bytes(raw))
    with StateStore.open(tmp_path) as store:
        report = store.recovery_report
        assert (report.first_bad_seq, report.reason, report.records_dropped) == (17, "checksum", 14)
        assert assert_prefix(store) == 16


def test_cut_below_the_newest_snapshot_rebases_the_journal(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        fill(store, 10)
        store.write_snapshot(3, b"at 3")
        store.write_snapshot(8, b"at 8")
        fill(store, 2)
    with raw_db(tmp_path) as conn:
        conn.execute("UPDATE journal SET payload = x'00' WHERE seq = 5")
    with StateStore.open(tmp_path) as store:
        report = store.recovery_report
        assert (report.first_bad_seq, report.journal_rebased_to) == (5, 8)
        assert "re-based" in report.summary()
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.journal_seq == 8
        assert store.compacted_through == store.last_seq == 8
        assert list(store.records(8)) == []
        assert store.append("slice", payload_for(9)) == 9  # never renumbers inside the snapshot
    with StateStore.open(tmp_path) as store:
        assert store.recovery_report.clean and store.last_seq == 9


def test_verify_can_run_again(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        fill(store, 5)
        with raw_db(tmp_path) as conn:
            conn.execute("DELETE FROM journal WHERE seq = 4")
        report = store.verify()
        assert (report.first_bad_seq, report.reason, report.records_dropped) == (4, "gap", 1)
        assert store.last_seq == 3
        assert store.verify().clean


def test_header_gone_raises_store_corrupted(tmp_path: Path) -> None:
    journal_of(tmp_path, 3)
    raw = db_path(tmp_path).read_bytes()
    db_path(tmp_path).write_bytes(b"\x00" * 16 + raw[16:])
    with pytest.raises(StoreCorrupted, match="header is missing or damaged"):
        StateStore.open(tmp_path)
    db_path(tmp_path).write_bytes(b"")
    with pytest.raises(StoreCorrupted, match="header"):
        StateStore.open(tmp_path)
    assert db_path(tmp_path).read_bytes() == b""  # left for the operator, not overwritten


def test_a_foreign_sqlite_file_is_not_taken_for_a_store(tmp_path: Path) -> None:
    conn = sqlite3.connect(db_path(tmp_path))
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorrupted, match="not a paperfund state database"):
        StateStore.open(tmp_path)


def test_wal_without_database_is_refused(tmp_path: Path) -> None:
    side_file(db_path(tmp_path), "-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 60)
    with pytest.raises(StoreCorrupted, match="WAL is present"):
        StateStore.open(tmp_path)


def test_interrupted_creation_and_salvage_leftovers_are_discarded(tmp_path: Path) -> None:
    for suffix in (CREATING, SCRATCH, BUILDING):
        side_file(db_path(tmp_path), suffix).write_bytes(b"half written")
    with StateStore.open(tmp_path) as store:
        assert store.recovery_report.clean
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.lock", "state.sqlite3"]


def test_rebuild_interrupted_after_its_commit_point_is_finished(tmp_path: Path) -> None:
    journal_of(tmp_path, 4)
    rebuilt = side_file(db_path(tmp_path), REBUILT)
    shutil.copyfile(db_path(tmp_path), rebuilt)  # as if step 3 of a salvage had just happened
    db_path(tmp_path).write_bytes(b"damaged")
    with StateStore.open(tmp_path) as store:
        report = store.recovery_report
        assert report.quarantined == side_file(db_path(tmp_path), ".corrupt-1")
        assert "interrupted" in report.detail and not report.clean
        assert assert_prefix(store) == 4
    assert report.quarantined.read_bytes() == b"damaged"
    assert not rebuilt.exists()


def test_building_a_database_leaves_no_wal(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    build_database(path)
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"
    assert not side_file(path, "-wal").exists()
