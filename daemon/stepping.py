"""One slice through every worker of a fund: `step_workers`.

Child processes and shards are sent their slice first and work in parallel while in-process
hosts step right here (a task per in-process step would cost more than the step). A shard is
sent one message for all of its members, and answers compactly (`workers.shard_host`): its
members' steps that only marked to market come back as `ShardSteps` for the book to record
together (`FundBook.on_marks`); every other step is a `StepOutcome`, in fund order.
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter

from core.book import FundBook
from core.market import Slice
from core.records import StrategyAllocation, StrategyState
from daemon.recoverable import RecoverableWorker
from daemon.shards import Shard, ShardMember, ShardSteps
from workers.errors import WorkerCrashed, WorkerTimeout
from workers.host import HostClient, StepOutcome
from workers.inprocess import InProcessWorker

Worker = HostClient | RecoverableWorker | ShardMember


@dataclass
class Stepped:
    """What a slice did in the workers."""

    outcomes: list[StepOutcome] = field(default_factory=list)
    """Every step in fund order, except the shard members' steps that only marked."""
    marks: list[ShardSteps] = field(default_factory=list)
    """Each shard's slice (its members' steps that only marked are booked already)."""
    found: dict[str, str] = field(default_factory=dict)
    """Faults found while stepping: strategy id -> reason."""

    def marked_row(self) -> tuple[list[str], array[float]]:
        """The shard members' ids and values (as floats) as their shards answered: what the
        book holds of them, before anything after the steps (a rebalance) moves it."""
        ids: list[str] = []
        values: array[float] = array("d")
        for steps in sorted(self.marks, key=attrgetter("shard")):  # not as they answered
            ids += steps.ids
            values.extend(map(float, steps.reply.values))
        return ids, values

    def durations(self) -> list[float]:
        """Seconds every strategy's step took in its host (fund order not kept)."""
        seconds = [outcome.duration_s for outcome in self.outcomes]
        for steps in self.marks:
            durations = steps.reply.durations
            seconds.extend(d for i, d in enumerate(durations) if i not in steps.outcomes)
        return seconds


async def step_workers(
    book: FundBook,
    workers: Mapping[str, Worker],
    market: Slice,
    faults: Mapping[str, str],
    replay: bool,
) -> Stepped:
    """Step every strategy of `book` (in its order) in its worker. The shard members' steps
    that only marked are booked here (`FundBook.on_marks`), each shard's as soon as it
    answers, while the others still work: they change only their own strategies' records,
    so the order in which shards answer changes nothing."""
    records = list(book.records.values())
    running = StrategyState.RUNNING
    local: list[tuple[int, StrategyAllocation, InProcessWorker]] = []
    remote: dict[int, tuple[str, Worker, asyncio.Task[StepOutcome]]] = {}
    skips: dict[Shard, set[str]] = {}
    for i, r in enumerate(records):
        worker = workers[r.strategy_id]
        if isinstance(worker, ShardMember):
            skip = skips.get(worker.shard)
            if skip is None:
                skip = skips[worker.shard] = set()
            if r.state is not running or r.strategy_id in faults:
                skip.add(r.strategy_id)
        elif isinstance(worker, InProcessWorker):
            local.append((i, r, worker))
        else:
            trading = r.state is running and r.strategy_id not in faults
            task = asyncio.create_task(worker.step(market, trading, replay=replay))
            remote[i] = r.strategy_id, worker, task
    if not remote and not skips:  # every strategy in-process: nothing to wait for or merge
        return Stepped([host.step_now(market, r.state is running) for _, r, host in local])
    stepping = {
        shard: asyncio.create_task(shard.step(market, frozenset(skip), replay))
        for shard, skip in skips.items()
    }
    try:
        return await _gather(book, market, records, local, remote, stepping)
    except BaseException:
        for pending in (*(task for _, _, task in remote.values()), *stepping.values()):
            pending.cancel()
        raise


async def _gather(
    book: FundBook,
    market: Slice,
    records: list[StrategyAllocation],
    local: list[tuple[int, StrategyAllocation, InProcessWorker]],
    remote: dict[int, tuple[str, Worker, asyncio.Task[StepOutcome]]],
    stepping: dict[Shard, asyncio.Task[tuple[ShardSteps, dict[str, str]]]],
) -> Stepped:
    if remote or stepping:
        await asyncio.sleep(0)  # let the remote steps send their requests
    stepped = Stepped()
    found = stepped.found
    placed: list[tuple[int, StepOutcome]] = []
    running = StrategyState.RUNNING
    for i, r, host in local:
        placed.append((i, host.step_now(market, r.state is running)))
    for i, (sid, worker, task) in remote.items():
        try:
            placed.append((i, await task))
        except (WorkerTimeout, WorkerCrashed) as exc:
            if not isinstance(worker, RecoverableWorker):
                raise
            found[sid] = f"{type(exc).__name__}: {exc}"
            await worker.rebuild()
            placed.append((i, await worker.step(market, False)))
    positions: dict[str, int] = {}
    answers = asyncio.as_completed(stepping.values()) if stepping else ()  # costs ~15 us
    for answer in answers:
        steps, shard_faults = await answer
        values, cash = steps.reply.values, steps.reply.cash
        book.on_marks(market.ts, steps.ids, values, cash, steps.not_trading, steps.outcomes)
        stepped.marks.append(steps)
        found.update(shard_faults)
        if steps.outcomes or shard_faults:
            positions = positions or {r.strategy_id: i for i, r in enumerate(records)}
            placed.extend((positions[steps.ids[i]], o) for i, o in steps.outcomes.items())
    placed.sort(key=itemgetter(0))
    stepped.outcomes = [outcome for _, outcome in placed]
    if len(found) > 1:  # in fund order, whichever worker found them
        positions = positions or {r.strategy_id: i for i, r in enumerate(records)}
        stepped.found = dict(sorted(found.items(), key=lambda item: positions[item[0]]))
    return stepped
