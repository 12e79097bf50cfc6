"""Shards on Ray keep the faults' semantics of shard processes, without an announcement: a
strategy that overruns its step deadline, ends the actor's process or pushes it past its
memory limit is found by stepping the slice again one member per request; it is quarantined
with the reason and the others end the run with the ledgers of a run without the fault. A
strategy that raises has its own error. Twenty `ray.kill`s of shard actors at random points
leave the fund exactly as an uninterrupted run, charged to nobody."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from core.market import Slice
from tests.daemon import test_shard_faults as faults
from tests.daemon import test_shard_kills as kills
from tests.support.market_data import daily_slices, iter_window
from workers.errors import MemoryLimitTooLow, WorkerTimeout
from workers.shard_process import ShardOptions
from workers.shard_ray import RayShards, ShardActor

OPTIONS = ShardOptions(step_timeout_s=1.0, control_timeout_s=3.0, memory_limit_mb=600)
"""A short control deadline: on Ray the whole slice's deadline (the control deadline plus
each member's) is what a hang waits for before the search; the limit above a Ray worker's
own ~250 MiB."""
BLOAT_MB = 700
SEARCH_REBUILDS = 2
"""One rebuild before the search, one after the culprit is found."""


@pytest.fixture(scope="module")
def window() -> list[Slice]:
    return list(iter_window(daily_slices(), "1999-06-01", "1999-10-31"))


def _backend(ray: Any) -> RayShards:
    return RayShards(ray, num_cpus=0)


FAULTS: dict[str, tuple[str, dict[str, Any], str]] = {
    "hang": ("Sleeping", {"sleep_s": 60}, "WorkerTimeout: strategy rogue"),
    "exit": ("Exiting", {}, "WorkerCrashed: strategy rogue"),
    "memory": ("Bloating", {"mb": BLOAT_MB}, "WorkerMemoryExceeded: strategy rogue"),
}


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_the_culprit_is_found_and_the_others_end_as_without_the_fault(
    window: list[Slice], ray: Any, kind: str
) -> None:
    cls, params, prefix = FAULTS[kind]
    slices = window[: faults.SLICES]
    run = {"options": OPTIONS, "backend": _backend(ray)}
    clean, _, _, clean_rebuilds = await faults._run(
        faults._specs(cls, {**params, "on_bar": faults.NEVER}), slices, **run
    )
    specs = faults._specs(cls, {**params, "on_bar": faults.FAULT_BAR})
    ledgers, events, engine, rebuilds = await faults._run(specs, slices, **run)
    assert (clean_rebuilds, rebuilds) == (0, SEARCH_REBUILDS)
    faults.check_rogue_quarantined(events, engine, prefix, ledgers, clean)
    # the journal's replay: the fault is known, nothing is killed or searched
    known = {faults.FAULT_BAR - 1: {"rogue": events[0].detail}}
    replayed, again, _, replay_rebuilds = await faults._run(specs, slices, known, **run)
    assert replay_rebuilds == 0
    assert replayed == ledgers
    assert [(e.kind, e.detail) for e in again] == [("fault_replayed", events[0].detail)]


async def test_a_strategy_that_raises_has_its_own_error_on_ray(
    window: list[Slice], ray: Any
) -> None:
    await faults.check_raising_is_its_own_error(
        window[: faults.SLICES], options=OPTIONS, backend=_backend(ray)
    )


def _ray_kill(ray: Any, killed: set[Any]) -> kills.Kill:
    async def kill(actor: ShardActor, stepping: asyncio.Future[Any], during_step: bool) -> None:
        """`ray.kill` the shard actor: once its step request is in flight (`during_step`;
        the event loop turns until then), or at once, before it has its slice; return once
        it is dead (`ray.kill` only asks for it). Its handle goes into `killed`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        if during_step:
            while not actor.busy and not stepping.done():
                assert loop.time() < deadline, "the shard never stepped"
                await asyncio.sleep(0)
        handle = actor.actor
        assert handle is not None
        killed.add(handle)
        ray.kill(handle)
        while True:
            assert loop.time() < deadline, "the actor outlived ray.kill"
            try:
                await handle.pid.remote()
            except ray.exceptions.RayActorError:
                return

    return kill


async def test_twenty_ray_kills_at_random_points_leave_the_fund_as_an_uninterrupted_run(
    window: list[Slice], ray: Any
) -> None:
    slices = window[: kills.SLICES]
    backend = _backend(ray)
    clean = await kills._run(kills._specs(), slices, backend=backend)
    kill_at = frozenset(random.Random(11).sample(range(1, kills.SLICES), kills.KILLS))
    killed: set[Any] = set()
    ledgers, records, events, rebuilds = await kills._run(
        kills._specs(), slices, kill_at, backend=backend, kill=_ray_kill(ray, killed)
    )
    assert clean[3] == 0
    # Each actor killed was noticed and cost one rebuild. A kill that lands after the actor
    # answered its step is noticed by the next request: a kill before that one on the same
    # shard finds the same dead actor, hence fewer actors than kills at times.
    assert rebuilds == len(killed) >= kills.KILLS // 2
    assert events == []  # and charged to nobody
    assert ledgers == clean[0]
    assert records == clean[1]


async def test_an_actor_no_node_can_take_times_out_naming_the_setting(ray: Any) -> None:
    options = ShardOptions(step_timeout_s=1.0, control_timeout_s=1.0)
    actor = RayShards(ray, num_cpus=64)("0", options)
    with pytest.raises(WorkerTimeout, match=r"64 CPU free\? workers\.ray\.num_cpus"):
        await actor.start()
    assert not actor.alive


async def test_a_limit_below_an_empty_actor_is_refused_when_it_starts(ray: Any) -> None:
    actor = RayShards(ray, num_cpus=0)("0", ShardOptions(memory_limit_mb=1))
    with pytest.raises(MemoryLimitTooLow, match=r"takes \d+ MiB .* limit of 1 MiB"):
        await actor.start()
    assert not actor.alive


async def test_members_past_the_limit_together_blame_nobody_on_ray(
    window: list[Slice], ray: Any
) -> None:
    """The actor alone takes ~250 MiB: three strategies of 200 MiB pass a 500 MiB limit."""
    await faults.check_members_past_the_limit_together_blame_nobody(window, 200, 500, _backend(ray))
