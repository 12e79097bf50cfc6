"""The exception tree of `core`.

    CoreError
    ├── InvalidInputError (ValueError)   bad argument; nothing was changed
    │   ├── InvalidBarError              a bar that breaks OHLCV rules (`reason` is a code)
    │   └── InfeasibleConstraintsError   bounds that no weights can satisfy
    ├── InvalidTransitionError (ValueError)  e.g. resuming a running strategy
    ├── InsufficientFundsError (ValueError)  a withdrawal larger than what can be raised
    └── InvariantViolation (RuntimeError)    a bug: money was created or destroyed

The seed API documents `ValueError` for bad input, so the input errors subclass it.
An `InvariantViolation` must stop the process: state can no longer be trusted.

`describe(exc)` puts an exception that strategy code raised into words without trusting it:
its `__str__` may raise, or return megabytes.
"""

from __future__ import annotations


class CoreError(Exception):
    """Base of every error raised by `core`."""


class InvalidInputError(CoreError, ValueError):
    """An argument was rejected before any state changed."""


class InvalidBarError(InvalidInputError):
    """A bar breaks the OHLCV rules. `reason` is a stable code used for counting."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class InfeasibleConstraintsError(InvalidInputError):
    """Allocation bounds that no weight vector can satisfy."""


class InvalidTransitionError(CoreError, ValueError):
    """A lifecycle change that the strategy's current state does not allow."""


class InsufficientFundsError(CoreError, ValueError):
    """A withdrawal that cannot be covered even by selling everything."""


class InvariantViolation(CoreError, RuntimeError):
    """An internal invariant broke (e.g. conservation of money). Stop the process."""


MAX_ERROR_CHARS = 2000
"""The longest message kept of an exception that strategy code raised (reports, records,
journals and snapshots keep it: a strategy must not make them as large as it likes)."""

UNREADABLE = "<exception str() failed>"


def exception_text(exc: BaseException) -> str:
    """`str(exc)` of an exception strategy code may have defined: `UNREADABLE` when its
    `__str__` raises or gives no text, cut at `MAX_ERROR_CHARS` when it is longer."""
    try:
        text = str.__str__(str(exc))  # an exact str, whatever subclass __str__ returned
    except KeyboardInterrupt:
        raise
    except BaseException:  # strategy code's __str__ may raise anything
        return UNREADABLE
    if len(text) > MAX_ERROR_CHARS:
        return f"{text[:MAX_ERROR_CHARS]}... ({len(text) - MAX_ERROR_CHARS:,} more characters)"
    return text


def exception_name(exc: BaseException) -> str:
    """The name of `exc`'s class (`type.__name__`, which a metaclass may make raise)."""
    try:
        return str.__str__(type(exc).__name__)
    except KeyboardInterrupt:
        raise
    except BaseException:  # strategy code's metaclass may raise anything
        return "<unnamed exception>"


def describe(exc: BaseException) -> str:
    """`Name: text` of an exception strategy code raised, safe to build whatever it is."""
    return f"{exception_name(exc)}: {exception_text(exc)}"
