"""In `fsync: interval` mode the daemon commits waiting journal records on a timer, so a
record appended while the feed is quiet does not wait for the next one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from daemon.app import flush_periodically
from daemon.persistence import StateStore


async def test_a_lone_record_is_committed_without_another_append(tmp_path: Path) -> None:
    with StateStore.open(tmp_path, "interval", interval_s=0.05) as store:
        store.append("command", b"{}")
        assert store.pending_records == 1
        timer = asyncio.create_task(flush_periodically(store))
        try:
            async with asyncio.timeout(10):
                while store.pending_records:
                    await asyncio.sleep(0.01)
        finally:
            timer.cancel()
        assert store.last_seq == 1


async def test_other_modes_need_no_timer(tmp_path: Path) -> None:
    with StateStore.open(tmp_path, "every_slice") as store:
        await asyncio.wait_for(flush_periodically(store), 1)  # returns at once
        store.append("command", b"{}")
        assert store.pending_records == 0
