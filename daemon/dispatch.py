"""What each command does to the fund: the engine calls behind a journaled command.

Everything here is deterministic given the engine's state, so replaying a journaled command
gives the same result, with one exception that is settled before journaling: whether an
added strategy's code loads and initialises (`start_added`).
"""

from __future__ import annotations

from collections.abc import Callable

from core.errors import CoreError
from core.held_capital import allocatable_performances, scale_to_running
from core.money import format_money
from daemon.commands import Add, Command, Pause, Rebalance, Remove, Resume
from daemon.engine import FundEngine, Worker
from daemon.errors import CommandRejected, RecoveryError
from workers.errors import WorkerError

MakeWorker = Callable[[str, str], Worker]
"""(strategy id, catalog name) -> a worker, created but not started."""

REJECTIONS = (CoreError, CommandRejected, ValueError)
"""Errors that reject a command (after validation, before anything changed)."""


async def start_added(engine: FundEngine, make_worker: MakeWorker, command: Add) -> Worker:
    """Validate an `add` and start its strategy (code loaded, `initialize` run, no cash)."""
    engine.book.validate_add(command.strategy_id, command.allocation)
    worker = make_worker(command.strategy_id, command.catalog)
    try:
        await worker.start()
    except BaseException:
        await worker.close()
        raise
    return worker


async def restart_added(engine: FundEngine, make_worker: MakeWorker, command: Add) -> Worker:
    """Recovery: the strategy of a journaled `add` started live, so it must start now."""
    try:
        return await start_added(engine, make_worker, command)
    except (*REJECTIONS, WorkerError) as exc:
        raise RecoveryError(
            f"cannot re-create strategy {command.strategy_id!r} ({command.catalog}) "
            f"added by command {command.command_id!r}: {type(exc).__name__}: {exc}"
        ) from exc


async def apply_command(engine: FundEngine, command: Command, worker: Worker | None) -> str:
    """Apply a journaled command; the detail of its outcome. `worker`: the started worker
    of an `add`. Raises one of `REJECTIONS` when the command changes nothing."""
    if isinstance(command, Add):
        if worker is None:
            raise ValueError("an add needs its started worker")
        try:
            await engine.add(command.strategy_id, command.catalog, command.allocation, worker)
        except BaseException:
            await worker.close()
            raise
        return "added"
    if isinstance(command, Pause):
        await engine.pause(command.strategy_id, command.reason)
    elif isinstance(command, Resume):
        await engine.resume(command.strategy_id)
    elif isinstance(command, Remove):
        value = await engine.remove(command.strategy_id, command.liquidate)
        return f"returned {format_money(value)}"
    elif isinstance(command, Rebalance):
        return await _rebalance(engine, command)
    return "ok"


async def _rebalance(engine: FundEngine, command: Rebalance) -> str:
    """Explicit weights are applied exactly and may move any strategy's capital, held or
    not; the configured algorithm allocates among the running strategies, like a scheduled
    rebalance (see `core.held_capital`), and skips the transfers below the rebalancer's
    min_transfer_pct."""
    rebalancer = engine.state.rebalancer
    ts = engine.book.current_timestamp
    if command.weights is not None:
        record = await engine.rebalance(dict(command.weights), command.reason)
        if rebalancer is not None and ts is not None:
            rebalancer.record_rebalance(ts, record.targets)
        return f"costs {format_money(record.costs)}"
    if rebalancer is None:
        raise CommandRejected("no allocation algorithm is configured")
    await engine.refresh_statistics(rebalancer.algorithm)
    weights = rebalancer.algorithm.calculate_allocations(allocatable_performances(engine.book))
    record = await engine.rebalance(
        scale_to_running(engine.book, weights),
        command.reason,
        min_transfer_pct=rebalancer.min_transfer_pct,
    )
    if ts is not None:
        rebalancer.record_rebalance(ts, weights)
    return f"costs {format_money(record.costs)}"
