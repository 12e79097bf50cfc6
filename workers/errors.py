"""The exception tree of `workers`.

    WorkerError
    ├── StrategyLoadError   the strategy could not be imported, built or initialised
    │   └── StrategyNotSaveable  its state cannot be saved in a snapshot (pickled)
    ├── WorkerTimeout       a step overran its hard deadline; the child process was killed
    ├── WorkerCrashed       the child process died, or the worker is not running (restart it)
    ├── WorkerMemoryExceeded  a shard process grew past its memory limit and exited
    ├── MemoryLimitTooLow   a shard process is past its memory limit before any step
    └── RemoteError         an operation failed inside the host with an exception that the
                            parent does not know (`type_name` names it)

Errors of the core raised inside a host (`InvalidInputError`, `InsufficientFundsError`,
`InvariantViolation`...) come back as the same core classes, whichever kind of worker ran
the operation. Exceptions raised by strategy code while it trades are not errors of the
worker: `run_step` catches them and they come back in `StepReport.error`, or, for a
`BaseException` such as `SystemExit` or `KeyboardInterrupt` (a host never receives SIGINT as
one), in `StepReport.fault`, which quarantines the strategy.

`RayUnavailableError` (a `WorkerError`): a host in a Ray actor was asked for, but Ray is not
installed (the `paperfund[ray]` extra).
"""

from __future__ import annotations


class WorkerError(Exception):
    """Base of every error raised by `workers`."""


class StrategyLoadError(WorkerError):
    """A strategy import path, its parameters or its `initialize` failed."""


class StrategyNotSaveable(StrategyLoadError):
    """The strategy object or its context holds something `pickle` cannot save (a lock, an
    open file or connection, a lambda, a generator): no snapshot can hold it. Refused when
    the strategy joins; later, the fund's snapshots wait until it is fixed or removed."""


class WorkerTimeout(WorkerError):
    """An operation overran its deadline; the child process was killed (SIGKILL).

    The worker is not running afterwards: `restart(snapshot)` brings it back.
    """


class WorkerCrashed(WorkerError):
    """The child process exited (EOF on its pipe) or was never started or already closed."""


class WorkerLost(WorkerCrashed):
    """The process was killed from outside (a SIGKILL paperfund did not send: an operator, the
    kernel's out-of-memory killer, a lost machine; for a shard on Ray, a `ray.kill` by
    someone else or a lost node). Not by itself any strategy's fault: a shard is rebuilt and
    the slice stepped again (see `daemon.shards.Shard.step`, `daemon.shard_search`)."""


class WorkerMemoryExceeded(WorkerError):
    """A shard process's resident memory passed its limit after a strategy's step; the
    process exited, naming that strategy."""


class MemoryLimitTooLow(WorkerError):
    """A shard process is past its memory limit before any strategy steps there (empty, or
    with its strategies just rebuilt), or with its culprit not trading: the limit is below
    what the shard needs, which no strategy's fault explains."""


class RemoteError(WorkerError):
    """An exception of a type the parent does not import, raised inside the host."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name


class RayUnavailableError(WorkerError):
    """Ray is needed (a host in a Ray actor) but cannot be imported."""
