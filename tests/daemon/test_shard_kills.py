"""A shard process killed from outside (an operator's or the kernel's SIGKILL) is nobody's
fault: the shard is rebuilt at its members' last consistent state and the slice stepped
again, so twenty kills at random points, during steps and between them, leave the fund
exactly as an uninterrupted run. A strategy that kills its own process every time is told
apart by repetition: the shard is rebuilt `LOST_RETRIES` times, then the strategy it
announced is quarantined, like any other crash."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from core.book import FundBook
from core.ledger import Ledger
from core.market import Slice
from daemon.engine import EngineState, Event, FundEngine
from daemon.shard_pool import ShardPool
from daemon.shards import LOST_RETRIES
from tests.support.market_data import daily_slices, iter_window
from workers.factory import WorkerSpec
from workers.shard_backend import MakeShard
from workers.shard_host import IDLE
from workers.shard_process import ShardOptions, ShardProcess

MA = "workers.strategies.moving_average:MovingAverageCrossover"
SAMPLES = "tests.workers.sample_strategies"
WAITS = "tests.support.rogue_strategies:WaitsForItsOrder"
SLICES = 60
KILLS = 20
SHARDS = 2


@pytest.fixture(scope="module")
def window() -> list[Slice]:
    return list(iter_window(daily_slices(), "1999-06-01", "1999-10-31"))[:SLICES]


def _specs(rogue: tuple[str, dict[str, Any]] | None = None) -> list[WorkerSpec]:
    specs = [
        WorkerSpec(f"ma{i}", MA, {"fast": 3 + i, "slow": 8 + 2 * i}, mode="shard") for i in range(6)
    ]
    specs += [WorkerSpec(f"slow{i}", f"{SAMPLES}:Pausing", {}, mode="shard") for i in range(2)]
    specs += [  # they keep their orders in their context: a rebuild must keep them live
        WorkerSpec(f"waits{i}", WAITS, {"symbol": symbol}, mode="shard")
        for i, symbol in enumerate(("ORCL", "NVDA", "YHOO"))
    ]
    if rogue is not None:
        specs.append(WorkerSpec("rogue", f"{SAMPLES}:{rogue[0]}", rogue[1], mode="shard"))
    return specs


Kill = Callable[[Any, "asyncio.Future[Any]", bool], Awaitable[None]]
"""(a shard's backend, the engine's step in progress, whether to kill during the step)"""


async def _run(
    specs: list[WorkerSpec],
    slices: list[Slice],
    kill_at: frozenset[int] = frozenset(),
    *,
    backend: MakeShard = ShardProcess,
    kill: Kill | None = None,
) -> tuple[dict[str, Any], dict[str, tuple[Any, ...]], list[Event], int]:
    """(ledgers, records, fault events, rebuilds); SIGKILL a shard during slice i in `kill_at`."""
    reserve = Ledger()
    reserve.transfer_in(Decimal(1_000_000))
    engine = FundEngine(EngineState(FundBook(reserve, max_consecutive_errors=1), None), {})
    options = ShardOptions(step_timeout_s=5.0, control_timeout_s=30.0)
    pool = ShardPool(SHARDS, options, backend)
    events: list[Event] = []
    picks = random.Random(7)
    try:
        for spec in specs:
            worker = pool.member(spec)
            await worker.start()
            await engine.add(spec.strategy_id, "test", Decimal("0.08"), worker)
        for i, market in enumerate(slices):
            if i % 10 == 0:  # checkpoints, as the supervisor's snapshots take them
                for worker in engine.workers.values():
                    await worker.snapshot()
            stepping = asyncio.ensure_future(engine.step(market))
            if i in kill_at:
                shard = picks.choice(pool.shards).process
                await (kill or _kill)(shard, stepping, i % 2 == 0)
            events += [e for e in await stepping if e.kind.startswith("fault")]
        ledgers = {sid: await w.ledger_state() for sid, w in engine.workers.items()}
        records = {
            sid: (r.state.value, r.value, r.cash, r.error_count, r.performance.get_metrics())
            for sid, r in engine.book.records.items()
        }
        return ledgers, records, events, sum(s.rebuilds for s in pool.shards)
    finally:
        await pool.close()


async def _kill(process: ShardProcess, stepping: asyncio.Future[Any], during_step: bool) -> None:
    """SIGKILL the shard `process`: once it announces a member's step (`during_step`; the
    event loop turns until then), or at once, before it has its slice."""
    if during_step:
        deadline = asyncio.get_running_loop().time() + 30
        while process.announcing() == IDLE and not stepping.done():
            assert asyncio.get_running_loop().time() < deadline, "the shard never stepped"
            await asyncio.sleep(0)
    pid = process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)


async def test_twenty_kills_at_random_points_leave_the_fund_as_an_uninterrupted_run(
    window: list[Slice],
) -> None:
    clean = await _run(_specs(), window)
    kill_at = frozenset(random.Random(11).sample(range(1, SLICES), KILLS))
    ledgers, records, events, rebuilds = await _run(_specs(), window, kill_at)
    assert clean[3] == 0
    assert rebuilds == KILLS  # each kill was noticed, and cost one rebuild
    assert events == []  # and charged to nobody
    assert ledgers == clean[0]
    assert records == clean[1]


async def test_a_strategy_that_kills_its_own_shard_is_charged_after_the_retries(
    window: list[Slice],
) -> None:
    clean = await _run(_specs(("KillsItself", {"on_bar": 10_000})), window[:20])
    ledgers, records, events, rebuilds = await _run(
        _specs(("KillsItself", {"on_bar": 10})), window[:20]
    )
    assert rebuilds == LOST_RETRIES + 1
    assert [(e.kind, e.strategy_id, e.slice_index) for e in events] == [("fault", "rogue", 9)]
    assert events[0].detail.startswith("WorkerLost: strategy rogue"), events[0].detail
    assert records["rogue"][0] == "paused"
    others = [sid for sid in ledgers if sid != "rogue"]
    assert {sid: ledgers[sid] for sid in others} == {sid: clean[0][sid] for sid in others}
