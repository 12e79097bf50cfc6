"""What a journal record that fails on replay becomes: a `JournalReplayError` naming it.

Replay runs the same deterministic code on the same records, so an exception raised while
replaying a record would be raised again by every restart: a crash loop. `replay_error`
turns it into a `JournalReplayError` (a `RecoveryError`: the daemon stops with exit code 4
and the systemd unit does not restart it). Failures that may pass on their own are not the
record's fault and propagate unchanged: storage errors (other than an undecodable payload),
OS errors, and a worker process that timed out or died.
"""

from __future__ import annotations

from core.errors import exception_name, exception_text
from daemon.errors import JournalReplayError
from daemon.persistence import CodecError, JournalRecord, StoreError
from workers.errors import WorkerCrashed, WorkerTimeout

TRANSIENT = (StoreError, OSError, WorkerTimeout, WorkerCrashed)
"""Failures that say nothing about the record being replayed."""


def replay_error(record: JournalRecord | None, exc: Exception) -> Exception:
    """What to raise for `exc`, met while replaying `record` (None: before any record): a
    `JournalReplayError` naming the record when the failure is deterministic, else `exc`."""
    if record is None or isinstance(exc, JournalReplayError):
        return exc
    if isinstance(exc, TRANSIENT) and not isinstance(exc, CodecError):
        return exc
    return JournalReplayError(record.seq, record.kind, _cause(exc))


def _cause(exc: BaseException) -> str:
    text = exception_text(exc)  # a strategy's unpickling may have raised it
    return exception_name(exc) + (f": {text[:500]}" if text else "")
