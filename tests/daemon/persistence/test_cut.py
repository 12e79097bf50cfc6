"""Cutting the journal at a record: it, the records after it and the snapshots holding their
effects go, in one transaction; a cut outside the journal changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.persistence import StateStore, StoreUsageError


def filled(path: Path) -> StateStore:
    store = StateStore.open(path)
    for i in range(1, 6):
        store.append("slice" if i % 2 else "command", f"payload {i}".encode())
    store.write_snapshot(3, b"after record 3")
    return store


def test_a_cut_deletes_the_record_what_follows_and_the_snapshots_after(tmp_path: Path) -> None:
    with filled(tmp_path) as store:
        cut = store.cut(4)
        assert (cut.records, cut.snapshots) == ({"command": 1, "slice": 1}, 0)
        assert store.last_seq == 3
        assert [r.seq for r in store.records()] == [1, 2, 3]
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.journal_seq == 3
        assert store.append("slice", b"next") == 4  # numbering continues after the cut
        assert store.cut(2).snapshots == 1
        assert store.latest_snapshot() is None
        assert store.last_seq == 1
    with StateStore.open(tmp_path) as reopened:
        assert reopened.recovery_report.clean
        assert [r.payload for r in reopened.records()] == [b"payload 1"]


@pytest.mark.parametrize("seq", [0, 6, -1])
def test_a_cut_outside_the_journal_changes_nothing(tmp_path: Path, seq: int) -> None:
    with filled(tmp_path) as store:
        with pytest.raises(StoreUsageError, match="from 1 to 5"):
            store.cut(seq)
        assert store.last_seq == 5


def test_a_dry_run_only_counts(tmp_path: Path) -> None:
    with filled(tmp_path) as store:
        cut = store.cut(1, dry_run=True)
        assert (sum(cut.records.values()), cut.snapshots) == (5, 1)
        assert store.last_seq == 5 and store.latest_snapshot() is not None
