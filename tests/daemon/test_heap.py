"""The supervisor settles the heap (collects, then freezes what is alive) after start-up, so
the cyclic collector's later passes skip the fund's long-lived state."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from daemon import heap
from daemon.persistence import StateStore
from daemon.supervisor import Supervisor
from tests.bench.daemon_throughput import maker, plan


def test_settle_collects_cycles_and_freezes_the_survivors() -> None:
    class Node:
        other: object = None

    gc.unfreeze()
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle only the cyclic collector frees
    cycle = weakref.ref(a)
    kept = Node()
    del a, b
    assert cycle() is not None
    heap.settle()
    try:
        assert cycle() is None  # collected before freezing
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # frozen: collections skip it
    finally:
        gc.unfreeze()
    assert any(o is kept for o in gc.get_objects())


async def test_the_supervisor_settles_after_start_only(tmp_path: Path) -> None:
    gc.unfreeze()
    with StateStore.open(tmp_path, "interval") as store:
        sup = Supervisor(plan(3), store, maker("inprocess"), snapshot_every=10**9)
        try:
            await sup.start()
            assert gc.get_freeze_count() > 0  # start-up settled
            gc.unfreeze()
            assert gc.get_freeze_count() == 0
            await sup.snapshot()
            assert gc.get_freeze_count() == 0  # a snapshot does not: ~0.1 s each time
        finally:
            await sup.close()
            gc.unfreeze()
