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
