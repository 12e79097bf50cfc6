"""A stop request interrupts a wait on the feed, never the work between waits."""

from __future__ import annotations

import asyncio

import pytest

from daemon.stopping import StopGuard, Stopped


async def test_a_stop_interrupts_a_wait_that_would_never_end() -> None:
    stop = asyncio.Event()
    never: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    async with StopGuard(stop) as guard:
        asyncio.get_running_loop().call_soon(stop.set)
        with pytest.raises(Stopped):
            await guard.wait_for(never)
    assert never.cancelled()
    assert not asyncio.current_task().cancelling()  # type: ignore[union-attr]


async def test_a_stop_during_work_lets_the_work_finish_and_stops_the_next_wait() -> None:
    stop = asyncio.Event()
    finished = []
    async with StopGuard(stop) as guard:
        assert await guard.wait_for(asyncio.sleep(0, result=1)) == 1
        stop.set()
        await asyncio.sleep(0)  # the watcher runs now: nothing is waiting, nothing is cut
        await asyncio.sleep(0)
        finished.append("work")
        with pytest.raises(Stopped):
            await guard.wait_for(asyncio.sleep(3600))
    assert finished == ["work"]


async def test_a_cancel_from_elsewhere_is_not_taken_for_a_stop() -> None:
    stop = asyncio.Event()

    async def reader() -> None:
        async with StopGuard(stop) as guard:
            await guard.wait_for(asyncio.sleep(3600))

    task = asyncio.create_task(reader())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
