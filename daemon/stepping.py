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
from operator import itemgetter

from core.book import FundBook
from core.market import Slice
from core.records import StrategyState
from daemon.recoverable import RecoverableWorker
from daemon.shard_pool import ShardMember
from daemon.shards import Shard, ShardSteps
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
        for steps in sorted(self.marks, key=lambda steps: steps.shard.index):  # not as answered
            ids += steps.ids
            columns = steps.shard.columns
            assert columns is not None  # set by the reply being booked
            values.extend(columns.floats)
        return ids, values

    def durations(self) -> list[float]:
        """Seconds every strategy's step took in its host (fund order not kept)."""
        seconds = [outcome.duration_s for outcome in self.outcomes]
        for steps in self.marks:
            durations = steps.reply.durations
            seconds.extend(d for i, d in enumerate(durations) if i not in steps.outcomes)
        return seconds


@dataclass
class Layout:
    """Which worker steps each strategy of a book, in the book's order: made again only when
    the book's strategies or the workers change (`layout_for`), not on every slice."""

    ids: list[str]
    hosts: tuple[list[str], list[Worker]]
    """The workers mapping it was made of: its keys and its values, in its order."""
    local: list[tuple[int, str, InProcessWorker]]
    remote: list[tuple[int, str, Worker]]
    """Child processes and recoverable workers: one request each."""
    shards: list[Shard]
    """The shards hosting at least one of the book's strategies."""
    positions: dict[str, int]
    """Strategy id -> its place in the book's order."""


def layout_for(book: FundBook, workers: Mapping[str, Worker], last: Layout | None) -> Layout:
    """`last` if the book's strategies and the workers are still what it was made of."""
    ids, hosts = list(book.records), (list(workers), list(workers.values()))
    if last is not None and ids == last.ids and hosts == last.hosts:
        return last  # `==` on lists: element by element, identity first (no __eq__ here)
    local: list[tuple[int, str, InProcessWorker]] = []
    remote: list[tuple[int, str, Worker]] = []
    shards: dict[Shard, None] = {}  # in order of first appearance, each once
    for i, sid in enumerate(ids):
        worker = workers[sid]
        if isinstance(worker, ShardMember):
            shards[worker.shard] = None
        elif isinstance(worker, InProcessWorker):
            local.append((i, sid, worker))
        else:
            remote.append((i, sid, worker))
    positions = {sid: i for i, sid in enumerate(ids)}
    return Layout(ids, hosts, local, remote, list(shards), positions)


async def step_workers(
    book: FundBook,
    layout: Layout,
    market: Slice,
    faults: Mapping[str, str],
    replay: bool,
) -> Stepped:
    """Step every strategy of `book` (in its order) in its worker (`layout`: see
    `layout_for`). The shard members' steps that only marked are booked here
    (`FundBook.on_marks`), each shard's as soon as it answers, while the others still work:
    they change only their own strategies' records, so the order in which shards answer
    changes nothing."""
    records = book.records
    running = StrategyState.RUNNING
    if not layout.remote and not layout.shards:  # every strategy in-process
        return Stepped(
            [host.step_now(market, records[sid].state is running) for _, sid, host in layout.local]
        )
    idle = {r.strategy_id for r in records.values() if r.state is not running}
    if faults:
        idle.update(faults)
    remote: dict[int, tuple[str, Worker, asyncio.Task[StepOutcome]]] = {}
    for i, sid, worker in layout.remote:
        task = asyncio.create_task(worker.step(market, sid not in idle, replay=replay))
        remote[i] = sid, worker, task
    stepping = {}
    for shard in layout.shards:
        skip = frozenset(idle & shard.members.keys())
        stepping[shard] = asyncio.create_task(shard.step(market, skip, replay))
    try:
        return await _gather(book, market, layout, remote, stepping)
    except BaseException:
        for pending in (*(task for _, _, task in remote.values()), *stepping.values()):
            pending.cancel()
        raise


async def _gather(
    book: FundBook,
    market: Slice,
    layout: Layout,
    remote: dict[int, tuple[str, Worker, asyncio.Task[StepOutcome]]],
    stepping: dict[Shard, asyncio.Task[tuple[ShardSteps, dict[str, str]]]],
) -> Stepped:
    await asyncio.sleep(0)  # let the remote steps send their requests
    stepped = Stepped()
    found = stepped.found
    placed: list[tuple[int, StepOutcome]] = []
    records, running = book.records, StrategyState.RUNNING
    for i, sid, host in layout.local:
        placed.append((i, host.step_now(market, records[sid].state is running)))
    for i, (sid, worker, task) in remote.items():
        try:
            placed.append((i, await task))
        except (WorkerTimeout, WorkerCrashed) as exc:
            if not isinstance(worker, RecoverableWorker):
                raise
            found[sid] = f"{type(exc).__name__}: {exc}"
            await worker.rebuild()
            placed.append((i, await worker.step(market, False)))
    positions = layout.positions
    answers = asyncio.as_completed(stepping.values()) if stepping else ()  # costs ~15 us
    for answer in answers:
        steps, shard_faults = await answer
        reply = steps.reply
        ids, apart = steps.marks()
        book.on_marks(market.ts, ids, reply.values, reply.cash, steps.not_trading, apart)
        steps.shard.booked = reply.token  # the book holds what the shard's columns hold
        stepped.marks.append(steps)
        found.update(shard_faults)
        placed.extend((positions[steps.ids[i]], o) for i, o in steps.outcomes.items())
    placed.sort(key=itemgetter(0))
    stepped.outcomes = [outcome for _, outcome in placed]
    if len(found) > 1:  # in fund order, whichever worker found them
        stepped.found = dict(sorted(found.items(), key=lambda item: positions[item[0]]))
    return stepped
