"""Statistics kept in the shards: handing them over, and bringing the book's copies up to date.

A strategy hosted in a shard has its `StrategyPerformance` updated there, beside its ledger
(`workers.shard_stats`); the book holds a `PerformanceCopy` of it
(`core.performance_copy`). So:

- `track`: when a strategy joins the fund or is restored from a snapshot, the book's
  tracker goes to its shard and the book keeps a copy; a strategy whose worker is not a
  shard member keeps (or gets back) a full tracker in the book.
- `refresh`: before anything reads the statistics (a rebalance's algorithm, the status
  views, the metrics, the digest, a snapshot), every shard sends its members' return side,
  one message per shard, sent to all shards at once.
- `record_flow`: the capital a rebalance moved in or out goes to the shard's tracker too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from core.book import FundBook
from core.performance_copy import PerformanceCopy, stands_at
from core.records import StrategyAllocation
from daemon import logs
from daemon.shard_pool import ShardMember
from daemon.shards import Shard
from daemon.stepping import Worker
from workers.errors import WorkerError

if TYPE_CHECKING:
    from daemon.engine import FundEngine

_log = logs.get("paperfund.statistics")


async def track(record: StrategyAllocation, worker: Worker) -> None:
    """Put `record`'s statistics where `worker` keeps them: in its shard (the book keeps a
    copy) when the shard keeps statistics (`ShardOptions.keep_statistics`), or in the book
    itself."""
    performance = record.performance
    if isinstance(worker, ShardMember) and worker.shard.options.keep_statistics:
        await worker.track(performance.to_state())
        if not isinstance(performance, PerformanceCopy):
            record.performance = PerformanceCopy.of(performance)
    elif isinstance(performance, PerformanceCopy):  # kept by the book from now on
        record.performance = performance.tracker()


async def refresh(book: FundBook, workers: Mapping[str, Worker]) -> None:
    """Load every copy in `book` from its shard (nothing when no strategy is in a shard)."""
    shards = _shards(workers.values())
    if shards:
        await asyncio.gather(*(_load(book, shard) for shard in shards))


async def refresh_for_reading(engine: FundEngine | None) -> None:
    """`refresh` before a view or a scrape, which runs beside the slices: a shard that is
    down (being rebuilt) leaves its copies as they were, and the view shows them."""
    if engine is None:
        return
    try:
        await refresh(engine.book, engine.workers)
    except WorkerError as exc:
        _log.warning("statistics not refreshed: a shard is down", error=str(exc))


async def _load(book: FundBook, shard: Shard) -> None:
    """One shard's copies. A load continues its copy from where it stood when asked, so
    two loads of one shard (a view's beside a rebalance's) take turns."""
    async with shard.loading:
        records = book.records
        since = {}
        for sid in shard.members:
            record = records.get(sid)
            if record is not None and isinstance(record.performance, PerformanceCopy):
                since[sid] = stands_at(record.performance)
        for sid, tracked in await shard.statistics(since):
            record = records.get(sid)
            if record is not None and isinstance(record.performance, PerformanceCopy):
                record.performance.load(tracked)


def _shards(workers: Iterable[Worker]) -> list[Shard]:
    """The shards hosting `workers` that have members, each once, in order."""
    return list(
        dict.fromkeys(w.shard for w in workers if isinstance(w, ShardMember) and w.shard.members)
    )


async def record_flow(worker: Worker, amount: Decimal) -> None:
    """A rebalance moved `amount` into (+) or out of (-) the strategy of `worker`."""
    if isinstance(worker, ShardMember) and worker.shard.options.keep_statistics:
        await worker.record_flow(amount)
