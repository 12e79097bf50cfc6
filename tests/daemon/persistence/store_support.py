"""Shared pieces of the persistence tests: deterministic payloads, fake clocks, crash images."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon.persistence import StateStore
from daemon.persistence.database import DB_FILENAME

PAYLOAD_BYTES = 300


def payload_for(seq: int) -> bytes:
    """A 300-byte payload that names its record, so a recovered record can be checked."""
    digest = hashlib.sha256(seq.to_bytes(8, "big")).digest()
    head = f"record {seq:08d} ".encode()
    return (head + digest * 10)[:PAYLOAD_BYTES]


def fill(store: StateStore, count: int, kind: str = "slice") -> list[int]:
    return [store.append(kind, payload_for(store.last_seq + 1)) for _ in range(count)]


def assert_prefix(store: StateStore, at_least: int = 0) -> int:
    """The journal holds records 1..n with their original payloads; returns n."""
    seqs = []
    for record in store.records(store.compacted_through):
        assert record.payload == payload_for(record.seq)
        seqs.append(record.seq)
    first = store.compacted_through + 1
    assert seqs == list(range(first, first + len(seqs)))
    assert store.last_seq == store.compacted_through + len(seqs) >= at_least
    return store.last_seq


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def db_path(state_dir: Path) -> Path:
    return state_dir / DB_FILENAME


@contextmanager
def raw_db(state_dir: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to a closed store, committing on exit."""
    conn = sqlite3.connect(db_path(state_dir))
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def copy_crash_image(state_dir: Path, target: Path) -> None:
    """Copy the database and its WAL as they are on disk right now, as a crash would leave
    them (the -shm index is rebuilt by SQLite)."""
    target.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal"):
        source = state_dir / (DB_FILENAME + suffix)
        if source.exists():
            shutil.copyfile(source, target / (DB_FILENAME + suffix))
