"""A shard settles its heap (collects the young generations, freezes what is alive) after
every change of membership or state and every `SETTLE_EVERY` slices, never after a read."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from tests.support.market_data import daily_slices, iter_window
from workers import shard_heap
from workers.host import LedgerConfig, unwrap
from workers.shard_heap import SETTLE_EVERY, SettlingShard
from workers.shard_host import ShardHost

MA = "workers.strategies.moving_average:MovingAverageCrossover"


@pytest.fixture
def settlings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The collector as the shard sees it, counting its settlings; the test process's own
    heap is left as it was found (nothing frozen)."""
    count: list[int] = []

    def freeze() -> None:
        count.append(1)
        gc.freeze()

    monkeypatch.setattr(shard_heap, "gc", SimpleNamespace(collect=gc.collect, freeze=freeze))
    gc.unfreeze()
    yield count
    gc.unfreeze()


def test_settles_after_changes_and_every_few_slices_but_not_after_reads(
    settlings: list[int],
) -> None:
    slices = list(iter_window(daily_slices(), "1999-06-01", "2000-06-01"))
    assert len(slices) > 2 * SETTLE_EVERY
    shard = SettlingShard(ShardHost())
    unwrap(shard.handle(("add", ("ma", MA, {"fast": 3, "slow": 8}, LedgerConfig(), 50))))
    assert len(settlings) == 1 and gc.get_freeze_count() > 0
    unwrap(shard.handle(("member", ("ma", "initialize", ()))))
    assert len(settlings) == 2
    assert unwrap(shard.handle(("member", ("ma", "ledger_state", ()))))
    assert unwrap(shard.handle(("member", ("ma", "snapshot", ()))))
    assert len(settlings) == 2  # reads change nothing: no settling
    settled_at = []
    for i, market in enumerate(slices[: SETTLE_EVERY * 2]):
        before = len(settlings)
        unwrap(shard.handle(("step", (market, frozenset(), False))))
        if len(settlings) != before:
            settled_at.append(i + 1)
    assert settled_at == [SETTLE_EVERY, 2 * SETTLE_EVERY]
