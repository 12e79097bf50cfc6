"""The exception tree of `daemon.persistence`.

    DaemonError                                   (daemon.errors)
    └── StoreError                                base of everything raised here
        ├── StoreUsageError (ValueError)          bad argument (unknown fsync mode, bad kind,
        │                                         snapshot position out of range); nothing changed
        ├── StoreClosed                           the store was used after `close()`
        ├── StoreLocked                           another process holds the state directory
        ├── StoreIOError                          SQLite failed to read or write (disk full, I/O)
        ├── CodecError (ValueError)               a payload cannot be encoded or decoded
        ├── SchemaTooNew (RecoveryError)          the database was written by a newer schema
        └── StoreCorrupted (RecoveryError)        damage that cannot be cut back to a valid
                                                  prefix (file header, schema or store
                                                  metadata unreadable), or damage met after
                                                  open, which is never returned as data

`SchemaTooNew` and `StoreCorrupted` are also `daemon.errors.RecoveryError`s: the daemon cannot
resume from that state directory and must stop for an operator.
Damage that *can* be cut back is not an exception: `StateStore.open` repairs it and describes
it in `StateStore.recovery_report` (see `daemon.persistence.recovery`).
"""

from __future__ import annotations

from daemon.errors import DaemonError, RecoveryError


class StoreError(DaemonError):
    """Base of the persistence layer's errors."""


class StoreUsageError(StoreError, ValueError):
    """An argument was rejected before anything was written."""


class StoreClosed(StoreError):
    """The store was used after `close()`."""


class StoreLocked(StoreError):
    """Another process (or another open store) holds the state directory's lock."""


class StoreIOError(StoreError):
    """SQLite failed to read or write the database (disk full, I/O error)."""


class CodecError(StoreError, ValueError):
    """A payload cannot be encoded or decoded."""


class SchemaTooNew(StoreError, RecoveryError):
    """The database's schema version is newer than this code understands."""


class StoreCorrupted(StoreError, RecoveryError):
    """The state directory is damaged beyond what cutting the journal back can repair."""
