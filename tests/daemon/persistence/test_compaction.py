"""Journal compaction behind the kept snapshots: the journal stays short however long the
fund runs, recovery always finds a valid snapshot with its complete tail, and a kill during
a compaction leaves the journal as it was."""

from __future__ import annotations

from pathlib import Path

from daemon.persistence import StateStore
from tests.daemon.persistence.store_support import assert_prefix, fill, raw_db
from tests.daemon.persistence.test_crash import read_line, writer

EVERY = 10


def journal_rows(state_dir: Path) -> tuple[int, int | None]:
    with raw_db(state_dir) as conn:
        count, first = conn.execute("SELECT COUNT(*), MIN(seq) FROM journal").fetchone()
    return int(count), first


def run(store: StateStore, snapshots: int) -> None:
    """EVERY records, then a snapshot of them, `snapshots` times."""
    for _ in range(snapshots):
        fill(store, EVERY)
        store.write_snapshot(store.last_seq, b"fund at %d" % store.last_seq)


def test_the_journal_stays_bounded_however_many_snapshots(tmp_path: Path) -> None:
    with StateStore.open(tmp_path, keep_snapshots=3) as store:
        run(store, 200)
        fill(store, 4)
        assert store.last_seq == 2004
        # the records after the oldest of the three kept snapshots, and nothing else
        assert store.compacted_through == 1980
        assert store.journal_size_bytes() == 24 * 300
    assert journal_rows(tmp_path) == (24, 1981)
    with StateStore.open(tmp_path) as store:
        assert store.recovery_report.clean
        assert assert_prefix(store) == 2004


def test_the_whole_journal_stays_until_keep_snapshots_are_held(tmp_path: Path) -> None:
    with StateStore.open(tmp_path, keep_snapshots=3) as store:
        run(store, 2)
        assert store.compacted_through == 0  # only two snapshots: nothing is dropped yet
        run(store, 1)
        assert store.compacted_through == EVERY  # the oldest of three covers the first ten
    assert journal_rows(tmp_path) == (20, EVERY + 1)


def test_damaged_newer_snapshots_fall_back_to_the_oldest_kept_with_its_tail(
    tmp_path: Path,
) -> None:
    with StateStore.open(tmp_path, keep_snapshots=3) as store:
        run(store, 50)
        fill(store, 3)
    with raw_db(tmp_path) as conn:
        newest_two = [i for (i,) in conn.execute("SELECT id FROM snapshots ORDER BY id")][1:]
        conn.executemany(
            "UPDATE snapshots SET payload = x'00' WHERE id = ?", [(i,) for i in newest_two]
        )
    with StateStore.open(tmp_path, keep_snapshots=3) as store:
        assert store.recovery_report.corrupt_snapshots == tuple(newest_two)
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.payload == b"fund at 480"
        assert [r.seq for r in store.records(snapshot.journal_seq)] == list(range(481, 504))
        # the next snapshot compacts only through the surviving one
        run(store, 1)
        assert store.compacted_through == 480
        assert assert_prefix(store) == 513


def test_keep_snapshots_one_compacts_through_the_newest(tmp_path: Path) -> None:
    with StateStore.open(tmp_path, keep_snapshots=1) as store:
        run(store, 30)
        assert store.compacted_through == store.last_seq == 300
        assert list(store.records(300)) == []
    assert journal_rows(tmp_path) == (0, None)
    with StateStore.open(tmp_path) as store:
        assert store.recovery_report.clean
        assert store.append("slice", b"next") == 301


def test_a_kill_during_compaction_leaves_the_journal_as_it_was(tmp_path: Path) -> None:
    with writer("compact", str(tmp_path), "500") as proc:
        assert read_line(proc) == "ready"
        proc.wait()
        assert proc.returncode == 9  # died inside the compaction's DELETE
    with StateStore.open(tmp_path, keep_snapshots=2) as store:
        assert store.recovery_report.clean, store.recovery_report.summary()
        # the snapshot at 600 was committed before the compaction started; the compaction
        # through 500 was not: the journal still starts after the snapshot at 400
        assert store.compacted_through == 400
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.journal_seq == 600
        assert assert_prefix(store) == 600
        fill(store, 1)
        store.write_snapshot(601, b"fund at 601")
        assert store.compacted_through == 600
