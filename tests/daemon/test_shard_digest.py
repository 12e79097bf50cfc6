"""The same fund, with strategies added, removed and rebalanced between slices, has the same
state digest through the engine whichever way its strategies are hosted: in-process, one
child process each, in K = 1, 2, 3 or 10**12 shard processes, or in K = 2 shard actors on
Ray."""

from __future__ import annotations

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
from workers.shard_process import ShardOptions, ShardProcess
from workers.shard_ray import RayShards

MA = "workers.strategies.moving_average:MovingAverageCrossover"
MOMENTUM = "workers.strategies.momentum:MomentumStrategy"
HUGE = 10**12
"""More shards than any fund has strategies: each strategy alone in its shard."""
MODES = [
    ("inprocess", 1),
    ("process", 1),
    ("shard", 1),
    ("shard", 2),
    ("shard", 3),
    ("shard", HUGE),
]
PLANNED = [
    ("fast", MA, {"fast": 3, "slow": 8}, "0.2"),
    ("slow", MA, {"fast": 10, "slow": 30}, "0.2"),
    ("mom", MOMENTUM, {"lookback": 10, "top": 2}, "0.2"),
]


@pytest.fixture(scope="module")
def window() -> list[Slice]:
    return list(iter_window(daily_slices(), "1999-06-01", "1999-12-31"))


async def _digest(
    slices: list[Slice], mode: str, shards: int, backend: MakeShard = ShardProcess
) -> str:
    reserve = Ledger()
    reserve.transfer_in(Decimal(1_000_000))
    engine = FundEngine(EngineState(FundBook(reserve), None), {})
    pool = ShardPool(shards, ShardOptions(), backend)

    async def add(sid: str, path: str, params: dict[str, int], weight: str) -> None:
        spec = WorkerSpec(sid, path, params, mode=mode)  # type: ignore[arg-type]
        worker: Worker = pool.member(spec) if mode == "shard" else create_worker(spec)
        await worker.start()
        await engine.add(sid, "test", Decimal(weight), worker)

    try:
        for planned in PLANNED:
            await add(*planned)
        for i, market in enumerate(slices):
            if i == 30:
                await add("late", MA, {"fast": 4, "slow": 12}, "0.1")
            if i == 60:
                await engine.rebalance(
                    {"fast": "0.1", "slow": "0.3", "mom": "0.2", "late": "0.2"}, "test"
                )
            if i == 80:
                await engine.remove("slow", liquidate=False)
            if i == 90:
                await engine.remove("mom", liquidate=True)
            if i == 100:
                await add("mom", MOMENTUM, {"lookback": 5, "top": 1}, "0.1")
            await engine.step(market)
        return await fund_digest(engine)
    finally:
        for worker in engine.workers.values():
            await worker.close()
        await pool.close()


async def test_every_hosting_mode_gives_the_same_digest(window: list[Slice]) -> None:
    digests = {(mode, shards): await _digest(window, mode, shards) for mode, shards in MODES}
    assert len(set(digests.values())) == 1, digests


async def test_shards_on_ray_give_the_same_digest(window: list[Slice], ray: Any) -> None:
    """The same fund in K = 2 shard actors on a local Ray cluster (each reserving no CPU)."""
    inprocess = await _digest(window, "inprocess", 1)
    assert await _digest(window, "shard", 2, RayShards(ray, num_cpus=0)) == inprocess


def test_a_shard_is_made_with_its_first_member_whatever_k() -> None:
    pool = ShardPool(HUGE, ShardOptions())
    assert pool.shards == []
    first = pool.member(WorkerSpec("a", MA, {}, mode="shard"))
    again = pool.member(WorkerSpec("a2", MA, {}, mode="shard"))
    assert [shard.index for shard in pool.shards] == sorted({first.shard.index, again.shard.index})
    assert pool.member(WorkerSpec("a", MA, {}, mode="shard")).shard is first.shard
