"""The exception tree of `daemon`.

DaemonError
├── CommandRejected       a command that is invalid or cannot apply; nothing changed
└── RecoveryError         the state directory cannot be recovered
    └── JournalReplayError  a journal record fails every time it is replayed

A `RecoveryError` stops `paperfund run` with exit code 4 (`daemon.cli.EXIT_RECOVERY`), which
the systemd unit does not restart on: restarting cannot help, an operator must act.
"""

from __future__ import annotations


class DaemonError(Exception):
    """Base of the daemon's errors."""


class CommandRejected(DaemonError):
    """A command failed validation or could not be applied; the fund is unchanged."""


class RecoveryError(DaemonError):
    """The state directory holds something the daemon cannot resume from."""


class JournalReplayError(RecoveryError):
    """Replaying journal record `seq` (`kind`) raised `cause` (a "Type: message" text).

    Replay is deterministic, so every restart would fail on the same record. The message
    names the record and the way out: `paperfund cut-journal --at SEQ` deletes it and every
    record after it, and the fund resumes from the state just before it."""

    def __init__(self, seq: int, kind: str, cause: str) -> None:
        self.seq, self.kind, self.cause = seq, kind, cause
        super().__init__(
            f"journal record {seq} ({kind}) fails on replay: {cause}. The fund cannot resume "
            f"past it. Back up the state directory, then run `paperfund cut-journal --config "
            f"FILE --at {seq}` to delete it and every record after it (the fund resumes from "
            "the state before it), or fix the cause and restart."
        )
