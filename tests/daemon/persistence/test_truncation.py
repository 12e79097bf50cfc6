"""Files cut short at random offsets: open recovers a prefix or raises `StoreCorrupted`.

Which one: a truncated WAL always recovers a prefix (SQLite ignores the torn frames; the
journal that remains verifies). A truncated main database file is rebuilt from its readable
prefix (`daemon.persistence.salvage`); it raises `StoreCorrupted` only when what is left cannot
be read as a store at all: the 100-byte SQLite header is gone, or the pages holding the schema
and the store metadata are.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from daemon.persistence import StateStore, StoreCorrupted
from daemon.persistence.database import side_file
from tests.daemon.persistence.store_support import (
    assert_prefix,
    copy_crash_image,
    db_path,
    fill,
    payload_for,
    raw_db,
)

RECORDS = 400


def snapshot_payload(journal_seq: int) -> bytes:
    return payload_for(journal_seq) * 60  # 18 kB: overflow pages


def check_recovered(store: StateStore) -> None:
    """Whatever survived is a consistent store: a prefix, a matching snapshot, writable."""
    last = assert_prefix(store)
    snapshot = store.latest_snapshot()
    if snapshot is not None:
        assert snapshot.payload == snapshot_payload(snapshot.journal_seq)
        assert store.compacted_through <= snapshot.journal_seq <= last
    assert store.append("slice", payload_for(last + 1)) == last + 1


def assert_sound(state_dir: Path) -> None:
    with raw_db(state_dir) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.fixture(scope="module")
def closed_store(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    state_dir = tmp_path_factory.mktemp("closed")
    # every snapshot kept, so nothing is compacted: the whole journal is there to cut
    with StateStore.open(state_dir, keep_snapshots=RECORDS // 100) as store:
        for _ in range(RECORDS // 100):
            fill(store, 100)
            store.write_snapshot(store.last_seq, snapshot_payload(store.last_seq))
    assert not side_file(db_path(state_dir), "-wal").exists()
    return db_path(state_dir).read_bytes()


def test_truncated_database_recovers_a_prefix_or_is_refused(
    tmp_path: Path, closed_store: bytes
) -> None:
    rng = random.Random(20240611)
    offsets = [0, 50, 99, 100, 4096, *sorted(rng.sample(range(len(closed_store)), 24))]
    recovered = []
    for offset in offsets:
        state_dir = tmp_path / f"cut-{offset}"
        state_dir.mkdir()
        db_path(state_dir).write_bytes(closed_store[:offset])
        try:
            store = StateStore.open(state_dir)
        except StoreCorrupted as exc:
            assert offset < len(closed_store) // 2, f"refused at {offset}: {exc}"
            continue
        with store:
            report = store.recovery_report
            assert not report.clean
            # rebuilt when SQLite reported damage; cut in place when only checksums failed
            assert report.quarantined is None or report.quarantined.exists()
            # past page damage the lost records cannot be counted
            assert report.records_dropped == (None if report.reason else 0)
            check_recovered(store)
            recovered.append(report.records_ok)
        with StateStore.open(state_dir) as store:
            assert store.recovery_report.clean
        assert_sound(state_dir)
    assert len(recovered) >= len(offsets) // 2
    assert max(recovered) > RECORDS // 2


@pytest.mark.parametrize("offset", [0, 50, 99])
def test_header_cut_off_is_refused(tmp_path: Path, closed_store: bytes, offset: int) -> None:
    db_path(tmp_path).write_bytes(closed_store[:offset])
    with pytest.raises(StoreCorrupted, match="header"):
        StateStore.open(tmp_path)


def test_truncated_wal_recovers_a_prefix(tmp_path: Path) -> None:
    live = tmp_path / "live"
    with StateStore.open(live) as store:
        fill(store, 150)
        store.write_snapshot(150, snapshot_payload(150))
        fill(store, 150)
        image = tmp_path / "image"
        copy_crash_image(live, image)
    wal = side_file(db_path(image), "-wal").read_bytes()
    assert len(wal) > 100_000
    rng = random.Random(7)
    lasts = []
    for offset in [0, 31, 32, 33, *sorted(rng.sample(range(len(wal)), 16)), len(wal)]:
        state_dir = tmp_path / f"wal-{offset}"
        shutil.copytree(image, state_dir)
        side_file(db_path(state_dir), "-wal").write_bytes(wal[:offset])
        with StateStore.open(state_dir) as store:
            assert store.recovery_report.clean, store.recovery_report.summary()
            lasts.append(store.last_seq)
            check_recovered(store)
        assert_sound(state_dir)
    assert lasts == sorted(lasts)  # a longer WAL never recovers less
    assert lasts[-1] == 300
