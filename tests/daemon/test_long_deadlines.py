"""Deadlines meant as "never" (`step_timeout_s` and `control_timeout_s` far past any run)
step a fund exactly as the default ones do, in every hosting mode, live and replayed: a
shard's per-member interval timer cannot be armed for that long, so it is armed at its
longest (`workers.shard_process.MAX_TIMER_S`) instead of failing every slice."""

from __future__ import annotations

import signal
from decimal import Decimal
from typing import Any

import pytest

from core.book import FundBook
from core.ledger import Ledger
from core.market import Slice
from daemon.digest import fund_digest
from daemon.engine import EngineState, FundEngine, Worker
from daemon.shard_pool import ShardPool
from tests.support.market_data import daily_slices, iter_window
from workers.factory import WorkerSpec, create_worker
from workers.shard_backend import MakeShard
from workers.shard_process import MAX_TIMER_S, ShardOptions, ShardProcess
from workers.shard_ray import RayShards

MA = "workers.strategies.moving_average:MovingAverageCrossover"
DEFAULT = (5.0, 30.0)
NEVER = [(1e12, 30.0), (5.0, 1e300), (1e300, 1e300)]


@pytest.fixture(scope="module")
def window() -> list[Slice]:
    return list(iter_window(daily_slices(), "1999-09-01", "1999-10-31"))


async def _digest(
    slices: list[Slice],
    mode: str,
    deadlines: tuple[float, float],
    backend: MakeShard = ShardProcess,
) -> str:
    step_s, control_s = deadlines
    reserve = Ledger()
    reserve.transfer_in(Decimal(1_000_000))
    engine = FundEngine(EngineState(FundBook(reserve), None), {})
    pool = ShardPool(1, ShardOptions(step_s, control_s), backend)
    try:
        for sid, fast in (("a", 3), ("b", 5)):
            spec = WorkerSpec(
                sid,
                MA,
                {"fast": fast, "slow": 8},
                mode=mode,  # type: ignore[arg-type]
                step_timeout_s=step_s,
                control_timeout_s=control_s,
            )
            worker: Worker = pool.member(spec) if mode == "shard" else create_worker(spec)
            await worker.start()
            await engine.add(sid, "test", Decimal("0.4"), worker)
        for i, market in enumerate(slices):
            await engine.step(market, replay=i % 3 == 0)  # a replayed step: the longer deadline
        return await fund_digest(engine)
    finally:
        for worker in engine.workers.values():
            await worker.close()
        await pool.close()


@pytest.mark.parametrize("mode", ["inprocess", "process", "shard"])
async def test_deadlines_past_any_run_step_as_the_default_ones(
    window: list[Slice], mode: str
) -> None:
    expected = await _digest(window, mode, DEFAULT)
    for deadlines in NEVER:
        assert await _digest(window, mode, deadlines) == expected, deadlines


async def test_deadlines_past_any_run_step_as_the_default_ones_on_ray(
    window: list[Slice], ray: Any
) -> None:
    """A shard actor has no timer of its own; its parent's deadlines take any length."""
    expected = await _digest(window, "inprocess", DEFAULT)
    backend = RayShards(ray, num_cpus=0)
    assert await _digest(window, "shard", (1e300, 1e300), backend) == expected


def test_the_longest_timer_is_one_the_system_accepts() -> None:
    try:
        signal.setitimer(signal.ITIMER_REAL, MAX_TIMER_S)
        assert signal.getitimer(signal.ITIMER_REAL)[0] > MAX_TIMER_S - 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
