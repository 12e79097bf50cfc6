"""Persistence of the fund: an append-only journal and periodic snapshots in SQLite (WAL).

A state directory holds `state.sqlite3` (+ its `-wal`/`-shm`), `state.lock`, and after a rebuild
any `state.sqlite3.corrupt-N` files. Startup is recovery: `StateStore.open` verifies the
journal and snapshots and cuts back damage (`store.recovery_report`); the daemon then loads
`latest_snapshot()` and replays `records(snapshot.journal_seq)`.

Durability of each `fsync` mode: `daemon.persistence.durability`. Recovery rules:
`daemon.persistence.recovery` and `daemon.persistence.salvage`. Bounded growth:
`daemon.persistence.compaction`. Schema: `daemon.persistence.database`. Errors:
`daemon.persistence.errors`.
"""

from daemon.persistence.codec import decode_slice, encode_slice
from daemon.persistence.durability import FsyncMode, StoreOptions
from daemon.persistence.errors import (
    CodecError,
    SchemaTooNew,
    StoreClosed,
    StoreCorrupted,
    StoreError,
    StoreIOError,
    StoreLocked,
    StoreUsageError,
)
from daemon.persistence.records import KIND_COMMAND, KIND_SLICE, JournalRecord, Snapshot
from daemon.persistence.recovery import RecoveryReport
from daemon.persistence.store import StateStore

__all__ = [
    "KIND_COMMAND",
    "KIND_SLICE",
    "CodecError",
    "FsyncMode",
    "JournalRecord",
    "RecoveryReport",
    "SchemaTooNew",
    "Snapshot",
    "StateStore",
    "StoreClosed",
    "StoreCorrupted",
    "StoreError",
    "StoreIOError",
    "StoreLocked",
    "StoreOptions",
    "StoreUsageError",
    "decode_slice",
    "encode_slice",
]
