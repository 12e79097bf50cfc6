"""A process worker whose child was killed while idle is rebuilt by the next control
operation, which then runs exactly once on the rebuilt state."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from daemon.feeds.synthetic import synthetic_slices
from daemon.recoverable import RecoverableWorker
from workers.factory import WorkerSpec, create_worker
from workers.process import ProcessWorker


def recoverable() -> tuple[RecoverableWorker, ProcessWorker]:
    spec = WorkerSpec(
        "trend",
        "workers.strategies.moving_average:MovingAverageCrossover",
        {"symbols": ["AAA"], "fast": 2, "slow": 4},
        mode="process",
    )
    inner = create_worker(spec)
    assert isinstance(inner, ProcessWorker)
    return RecoverableWorker(inner), inner


def kill_child(inner: ProcessWorker) -> None:
    pid = inner.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the worker reaps it when it next finds it dead


async def test_control_operations_rebuild_a_dead_child_and_apply_once() -> None:
    slices = list(
        synthetic_slices(
            ["AAA"],
            start=datetime(2024, 1, 2, tzinfo=UTC),
            interval=timedelta(days=1),
            bars=12,
            seed=5,
        )
    )
    worker, inner = recoverable()
    twin, _ = recoverable()  # the same operations, never killed
    await worker.start(Decimal(10_000))
    await twin.start(Decimal(10_000))
    try:
        for market in slices:
            await worker.step(market, True)
            await twin.step(market, True)
        first_pid = inner.pid
        kill_child(inner)
        assert await worker.deposit(Decimal(500)) == await twin.deposit(Decimal(500))
        assert inner.pid != first_pid
        kill_child(inner)
        assert await worker.withdraw(Decimal(700)) == await twin.withdraw(Decimal(700))
        kill_child(inner)
        await worker.snapshot()
        kill_child(inner)
        assert await worker.ledger_state() == await twin.ledger_state()
    finally:
        await worker.close()
        await twin.close()
