"""The exception tree of `daemon`.

DaemonError
├── CommandRejected       a command that is invalid or cannot apply; nothing changed
└── RecoveryError         the state directory cannot be recovered
"""

from __future__ import annotations


class DaemonError(Exception):
    """Base of the daemon's errors."""


class CommandRejected(DaemonError):
    """A command failed validation or could not be applied; the fund is unchanged."""


class RecoveryError(DaemonError):
    """The state directory holds something the daemon cannot resume from."""
