"""The supervisor settles the heap (collects, then freezes what is alive) after start-up, so
the cyclic collector's later passes skip the fund's long-lived state."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from config import load_settings
from daemon import heap
from daemon.app import run_fund
from tests.support.daemon_process import env_for


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


async def test_the_daemon_settles_once_its_supervisor_has_started(tmp_path: Path) -> None:
    """`run_fund`, in this process, on the embedded demo fund cut to a few bars."""
    env = env_for(tmp_path / "state", PAPERFUND_FEED__BARS="5")
    settings = load_settings(None, {k: v for k, v in env.items() if k.startswith("PAPERFUND_")})
    gc.unfreeze()
    try:
        result = await run_fund(settings, out=lambda _: None)
        assert result.slices == 5
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
