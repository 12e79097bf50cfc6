"""A strategy whose state `pickle` cannot save (a lock, a file, a lambda in its context) is
refused when it joins, in every worker kind; one that stores such a thing later stops the
fund's snapshots, not the fund: the journal keeps everything, the operator is told which
strategy and which attribute, and once it is removed snapshots resume and a restart gives
the live run's digest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from core.ledger import Ledger
from daemon.commands import Command, Remove, Snapshot
from daemon.digest import fund_digest
from daemon.engine import Worker
from daemon.outcomes import Outcome
from daemon.persistence import StateStore
from daemon.recoverable import RecoverableWorker
from daemon.shard_pool import ShardPool
from daemon.startup import FundPlan
from daemon.supervisor import Supervisor
from tests.support.drivers import flat_slices
from workers.errors import StrategyNotSaveable
from workers.factory import WorkerSpec, create_worker
from workers.ray_actor import ray_api
from workers.shard_backend import MakeShard
from workers.shard_process import ShardOptions, ShardProcess
from workers.shard_ray import RayShards

ROGUES = "tests.support.rogue_strategies"
MODES = ("inprocess", "process", "shard", "ray")
MakeWorker = Callable[[str, str], Worker]


@asynccontextmanager
async def _workers(mode: str, on_bar: int) -> AsyncIterator[MakeWorker]:
    """Worker makers of `mode` for "lock" (`KeepsALock(on_bar)`) and "steady"."""
    backend: MakeShard = ShardProcess
    kind = mode
    if mode == "ray":
        kind, backend = "shard", RayShards(ray_api(), num_cpus=0)
    pool = ShardPool(2, ShardOptions(), backend)

    def make(sid: str, catalog: str) -> Worker:
        name, params = ("KeepsALock", {"on_bar": on_bar}) if sid == "lock" else ("Steady", {})
        spec = WorkerSpec(sid, f"{ROGUES}:{name}", params, mode=kind)  # type: ignore[arg-type]
        if kind == "shard":
            return pool.member(spec)
        worker = create_worker(spec)
        return RecoverableWorker(worker) if kind == "process" else worker

    try:
        yield make
    finally:
        await pool.close()


async def _command(supervisor: Supervisor, command: Command) -> Outcome:
    """Submit `command` and apply it at once, as at a slice boundary."""
    answer = supervisor.submit(command)
    await supervisor._drain_commands()
    return answer.result()


def _plan() -> FundPlan:
    return FundPlan(
        name="unsaveable",
        capital=Decimal(100_000),
        strategies=(("lock", "lock", Decimal("0.3")), ("steady", "steady", Decimal("0.3"))),
        new_reserve=Ledger,
        new_rebalancer=lambda: None,
    )


@pytest.mark.parametrize("mode", MODES)
async def test_a_strategy_that_cannot_be_saved_is_refused_when_it_joins(
    mode: str, request: pytest.FixtureRequest
) -> None:
    if mode == "ray":
        request.getfixturevalue("ray")
    async with _workers(mode, on_bar=0) as make:
        worker = make("lock", "lock")
        with pytest.raises(
            StrategyNotSaveable, match=r"strategy lock cannot be saved: context\.lock"
        ):
            await worker.start(Decimal(1000))
        assert not getattr(worker, "inner", worker).alive  # nothing half-started is kept


@pytest.mark.parametrize("mode", ["inprocess", "process", "shard"])
async def test_a_strategy_whose_pickling_exits_is_refused_too(mode: str) -> None:
    spec = WorkerSpec("trap", f"{ROGUES}:ExitsWhenSaved", {}, mode=mode)  # type: ignore[arg-type]
    pool = ShardPool(1, ShardOptions())
    worker = pool.member(spec) if mode == "shard" else create_worker(spec)
    try:
        with pytest.raises(StrategyNotSaveable, match=r"context\.trap: SystemExit: no saving me"):
            await worker.start(Decimal(1000))
    finally:
        await pool.close()
        await worker.close()


@pytest.mark.parametrize("mode", MODES)
async def test_a_strategy_that_becomes_unsaveable_stops_the_snapshots_not_the_fund(
    mode: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if mode == "ray":
        request.getfixturevalue("ray")
    slices = flat_slices(12)
    async with _workers(mode, on_bar=3) as make:
        with StateStore.open(tmp_path / "state", "every_slice") as store:
            live = Supervisor(_plan(), store, make, snapshot_every=2)
            await live.start()
            try:
                for market in slices[:6]:
                    await live.process(market)
                error = live.snapshot_error
                assert error is not None and error.startswith(
                    "strategy lock cannot be saved: context.lock"
                )
                newest = store.latest_snapshot()
                assert newest is not None and newest.journal_seq <= 3 + 1  # none since bar 3
                refused = await _command(live, Snapshot(type="snapshot", command_id="s1"))
                assert (refused.status, refused.detail) == ("rejected", error)
                removed = await _command(
                    live, Remove(type="remove", command_id="r1", strategy_id="lock")
                )
                assert removed.status == "applied"
                for market in slices[6:]:
                    await live.process(market)
                assert live.snapshot_error is None  # written again
                expected = await fund_digest(live._engine)
            finally:
                await live.close()
        with StateStore.open(tmp_path / "state", "every_slice") as store:
            again = Supervisor(_plan(), store, make, snapshot_every=2)
            await again.start()
            try:
                assert await fund_digest(again._engine) == expected
            finally:
                await again.close()
