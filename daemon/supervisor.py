"""The supervisor: feed -> commands due -> journal -> workers -> book -> rebalancer -> snapshot.

Startup is recovery: the newest valid snapshot is loaded and the journal tail after it is
replayed through the same code path, so a daemon killed anywhere resumes exactly where the
journal says it was (a fund without a snapshot starts from its plan; both starting points,
and the snapshot's payload: `daemon.startup`). Commands are journaled before they are
applied, slices before they are stepped; both are applied only between slices.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

from redis.exceptions import RedisError

from core.market import Slice
from daemon import logs
from daemon.commands import Add, Command, Snapshot, Status, encode_command, parse_command
from daemon.dispatch import REJECTIONS, MakeWorker, apply_command, restart_added, start_added
from daemon.engine import FundEngine, StepObserver, Worker
from daemon.errors import CommandRejected, RecoveryError
from daemon.events import log_event
from daemon.outcomes import OUTCOME_RECORD, CommandMemory, Outcome
from daemon.persistence import JournalRecord, StateStore, decode_slice, encode_slice
from daemon.replay_guard import replay_error
from daemon.startup import (
    FundPlan,
    add_planned,
    planned_engine,
    restored_engine,
    snapshot_payload,
)
from daemon.stopping import StopGuard, Stopped
from workers.errors import StrategyNotSaveable, WorkerError

INBOX_SIZE = 10_000
REPLAY_YIELD_EVERY = 256

_log = logs.get("paperfund.supervisor")


OnJournaled = Callable[[int, bool], None]
"""Called once a command (or its outcome) is journaled and on disk, before its outcome is
answered: with the slice index at which it applies and whether it is a duplicate."""

Queued = tuple[Command, asyncio.Future[Outcome], OnJournaled | None]

SliceObserver = Callable[[float], None]
"""Called with the seconds `process` took for one slice (journal, steps, rebalance, and the
snapshot when one is due; not the commands applied before it)."""


class Supervisor:
    def __init__(
        self,
        plan: FundPlan,
        store: StateStore,
        make_worker: MakeWorker,
        *,
        snapshot_every: int = 100,
    ) -> None:
        self.plan = plan
        self.store = store
        self.make_worker = make_worker
        self.snapshot_every = snapshot_every
        self.engine: FundEngine | None = None
        self.commands = CommandMemory()  # each command id's first outcome
        self._inbox: asyncio.Queue[Queued] = asyncio.Queue(maxsize=INBOX_SIZE)
        self._inbox_ready = asyncio.Event()
        self._next: asyncio.Task[Slice | None] | None = None
        self.replayed = 0
        self.recovering = True
        self.last_slice_unix: float | None = None
        """Wall-clock time (Unix seconds) the last live slice was processed."""
        self.last_snapshot_unix: float | None = None
        """Wall-clock time (Unix seconds) of the newest snapshot, written or loaded."""
        self.snapshot_error: str | None = None
        """Why the last snapshot due could not be written (a strategy whose state cannot
        be saved), or None."""
        self._slice_observer: SliceObserver | None = None
        self._step_observer: StepObserver | None = None

    def observe(self, slices: SliceObserver | None, steps: StepObserver | None) -> None:
        """Install the latency hooks of the metrics, before or after `start`: `slices` sees
        each live slice's processing time, `steps` each live slice's worker step times."""
        self._slice_observer = slices
        self._step_observer = steps
        if self.engine is not None:
            self.engine.step_observer = steps

    # ---- startup ---------------------------------------------------------------------
    async def start(self) -> None:
        """Recover from the state directory, or start the planned fund when it is empty.
        A journal record whose replay raises stops it with a `JournalReplayError` naming the
        record (see `daemon.replay_guard`)."""
        snapshot = self.store.latest_snapshot()
        after = 0
        if snapshot is not None:
            self.last_snapshot_unix = snapshot.created_unix
        if snapshot is None:
            await self._fresh()
        else:
            await self._load(snapshot.payload)
            after = snapshot.journal_seq
        held: JournalRecord | None = None
        current: JournalRecord | None = None  # the record being replayed, for its error
        faults: dict[str, str] = {}
        try:
            for record in self.store.records(after):
                self.replayed += 1
                if self.replayed % REPLAY_YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let health checks and signals through
                if held is not None and record.kind != "fault":
                    current = held  # a later record exists: this slice completed before
                    await self._engine.step(decode_slice(held.payload), faults, replay=True)
                    held, faults = None, {}
                current = record
                if record.kind == "fault":
                    fault = json.loads(record.payload)
                    faults[fault["strategy_id"]] = fault["reason"]
                elif record.kind == "slice":
                    held = record
                else:
                    await self._replay(record.kind, record.payload)
            if held is not None:
                current = held
                await self._step(decode_slice(held.payload), faults)
        except Exception as exc:
            error = replay_error(current, exc)
            if error is exc:
                raise
            raise error from exc
        self.recovering = False

    async def _fresh(self) -> None:
        self.engine = planned_engine(self.plan)
        self.engine.step_observer = self._step_observer
        await add_planned(self.engine, self.plan, self.make_worker)

    async def _load(self, payload: bytes) -> None:
        self.engine = await restored_engine(payload, self.make_worker, self.commands)
        self.engine.step_observer = self._step_observer

    async def _replay(self, kind: str, payload: bytes) -> None:
        if kind == "command":
            await self._apply(parse_command(payload))
        elif kind == OUTCOME_RECORD:
            self.commands.replay_record(payload)
        else:
            raise RecoveryError(f"unknown journal record kind {kind!r}")

    @property
    def slice_index(self) -> int:
        """Slices the fund has stepped (0 before it starts)."""
        return 0 if self.engine is None else self.engine.state.slice_index

    @property
    def _engine(self) -> FundEngine:
        if self.engine is None:
            raise RecoveryError("the supervisor has not started")
        return self.engine

    # ---- commands --------------------------------------------------------------------
    def submit(
        self, command: Command, on_journaled: OnJournaled | None = None
    ) -> asyncio.Future[Outcome]:
        """The internal command entry point: queue a command for the next slice boundary
        (or, while a paced or live feed waits, for now). Raises `CommandRejected` when the
        queue is full."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        try:
            self._inbox.put_nowait((command, future, on_journaled))
        except asyncio.QueueFull:
            raise CommandRejected(f"too many commands waiting (limit {INBOX_SIZE})") from None
        self._inbox_ready.set()
        return future

    async def _drain_commands(self) -> None:
        while not self._inbox.empty():
            command, future, on_journaled = self._inbox.get_nowait()
            with logs.bound(command_id=command.command_id):  # on what applying it logs
                outcome = await self._handle(command, on_journaled)
            if not future.done():
                future.set_result(outcome)

    async def _handle(self, command: Command, on_journaled: OnJournaled | None) -> Outcome:
        """Decide a command's outcome once per command id; the command, or an outcome
        decided without it, is on disk before `on_journaled` and the answer."""
        index = self._engine.state.slice_index
        announce = on_journaled or (lambda index, duplicate: None)
        known = self.commands.recall(command, index)
        if known is not None:  # a conflict is answered without `accepted`, and not remembered
            if known.duplicate:
                announce(known.slice_index, True)
            return known
        workers = None
        if isinstance(command, Snapshot):  # the states first: the outcome says if they can be
            workers = await self._worker_snapshots()
        settled = (
            await self._settle(command, workers)
            if isinstance(command, Add | Status | Snapshot)
            else None
        )
        if isinstance(settled, Outcome):
            self.store.append(OUTCOME_RECORD, self.commands.outcome_record(command, settled))
            self.commands.remember(command, settled)
            if workers is not None:
                self._write_snapshot(workers)  # it holds its own command's outcome
            self.store.flush()
            announce(index, False)
            return settled
        self.store.append("command", encode_command(command))
        self.store.flush()  # on disk before any transport says accepted, in every fsync mode
        announce(index, False)
        return await self._apply(command, settled)

    async def _settle(
        self, command: Add | Status | Snapshot, workers: dict[str, bytes] | None
    ) -> Outcome | Worker:
        """What is decided before journaling: `status` and `snapshot` (never journaled as
        commands; a snapshot is refused when a strategy's state cannot be saved: `workers`
        is None), and whether an added strategy's code loads and initialises (the journal
        does not decide it): its started worker, or the rejection."""
        index = self._engine.state.slice_index
        if isinstance(command, Status):
            return Outcome(command.command_id, "applied", index, "status")
        if isinstance(command, Snapshot):  # written once its outcome is journaled
            if workers is None:
                reason = self.snapshot_error or "a strategy cannot be saved"
                return Outcome(command.command_id, "rejected", index, reason)
            return Outcome(command.command_id, "applied", index, "snapshot written")
        try:
            return await start_added(self._engine, self.make_worker, command)
        except (*REJECTIONS, WorkerError) as exc:
            return Outcome(command.command_id, "rejected", index, str(exc))

    async def _apply(self, command: Command, worker: Worker | None = None) -> Outcome:
        """Apply a journaled command. Deterministic: replay gives the same outcome. `worker`:
        the started worker of a live `add` (a replayed one is started again here)."""
        engine = self._engine
        index = engine.state.slice_index
        if isinstance(command, Add) and worker is None:
            worker = await restart_added(engine, self.make_worker, command)
        try:
            outcome = Outcome(
                command.command_id, "applied", index, await apply_command(engine, command, worker)
            )
        except REJECTIONS as exc:
            outcome = Outcome(command.command_id, "rejected", index, str(exc))
        self.commands.remember(command, outcome)
        return outcome

    # ---- the slice loop --------------------------------------------------------------
    async def run(
        self,
        feed: AsyncIterator[Slice],
        stop: asyncio.Event,
        on_slice: Callable[[Slice], None] | None = None,
    ) -> None:
        """Process slices until the feed ends or `stop` is set, then snapshot.

        A stop request ends the run after the slice being processed, or at once while the
        feed is waiting for its next slice. While a paced or live feed (`waits`) waits,
        submitted commands are applied as they come. `on_slice` sees every slice the feed
        yields, including those skipped as already processed before a restart."""
        last = self._engine.book.current_timestamp
        fast_forward = getattr(feed, "fast_forward", None)
        if last is not None and fast_forward is not None:
            fast_forward(last)  # a paced feed does not wait again through processed slices
        slices = aiter(feed)
        waits = bool(getattr(feed, "waits", False))
        try:
            async with StopGuard(stop) as guard:
                while not stop.is_set():
                    try:
                        market = await self._next_slice(slices, guard, waits)
                    except (StopAsyncIteration, Stopped):
                        break
                    if on_slice is not None:
                        on_slice(market)
                    last = self._engine.book.current_timestamp
                    if last is None or market.ts > last:
                        await self.process(market)
                    # else: already processed before a restart; only the acknowledgement is due
                    await self._acknowledge(feed, market)
        finally:
            await self._cancel_next()
        await self._drain_commands()
        await self.snapshot()

    async def _cancel_next(self) -> None:
        """Stop waiting for the feed; the wait is over before the feed can be closed."""
        pending, self._next = self._next, None
        if pending is not None:
            pending.cancel()
            await asyncio.wait({pending})  # never raises
            if not pending.cancelled():
                pending.exception()  # retrieved: the run is ending anyway

    async def _next_slice(
        self, slices: AsyncIterator[Slice], guard: StopGuard, waits: bool
    ) -> Slice:
        if not waits:
            return await guard.wait_for(anext(slices))
        if self._next is None:
            self._next = asyncio.ensure_future(_next_or_none(slices))
        while True:
            self._inbox_ready.clear()
            if not self._inbox.empty():
                await self._drain_commands()
                continue
            inbox = asyncio.ensure_future(self._inbox_ready.wait())
            try:
                await guard.wait_for(
                    asyncio.wait({self._next, inbox}, return_when=asyncio.FIRST_COMPLETED)
                )
            finally:
                inbox.cancel()
            if self._next.done():
                ready, self._next = self._next, None
                market = ready.result()
                if market is None:
                    raise StopAsyncIteration
                return market

    async def _acknowledge(self, feed: object, market: Slice) -> None:
        """Tell a durable feed (Redis Streams) that the slice is journaled and on disk.

        A failed acknowledgement is retried with the next slice's; the bars stay pending in
        the feed meanwhile, and their slice is already in the journal.
        """
        ack = getattr(feed, "ack_through", None)
        if ack is None:
            return
        self.store.flush()
        try:
            await ack(market.ts)
        except (RedisError, OSError) as exc:
            _log.warning("feed acknowledgement failed, will retry", error=str(exc))

    async def process(self, market: Slice) -> None:
        if not self._inbox.empty():
            await self._drain_commands()
        started = time.perf_counter()
        self.store.append("slice", encode_slice(market))  # commits when the interval is due
        await self._step(market)
        self.last_slice_unix = time.time()
        if self._engine.state.slice_index % self.snapshot_every == 0:
            await self.snapshot()
        if self._slice_observer is not None:
            self._slice_observer(time.perf_counter() - started)

    async def _step(self, market: Slice, faults: dict[str, str] | None = None) -> None:
        """Step the engine; journal the worker faults it met (they depend on the clock)."""
        for event in await self._engine.step(market, faults):
            if event.kind == "fault":
                fault = {"strategy_id": event.strategy_id, "reason": event.detail}
                self.store.append("fault", json.dumps(fault).encode())
            log_event(event)

    async def snapshot(self) -> bool:
        """Write a snapshot of the fund; False when a strategy's state cannot be saved
        (`snapshot_error` says which and why; logged): nothing is written or changed, and
        the journal keeps everything since the last snapshot, so a restart replays more."""
        workers = await self._worker_snapshots()
        if workers is None:
            return False
        self._write_snapshot(workers)
        return True

    async def _worker_snapshots(self) -> dict[str, bytes] | None:
        engine = self._engine
        await engine.refresh_statistics()  # the snapshot holds them
        try:
            workers = {sid: await w.snapshot() for sid, w in engine.workers.items()}
        except StrategyNotSaveable as exc:
            if self.snapshot_error != str(exc):
                _log.error("snapshot skipped: the journal keeps what it would hold", error=str(exc))
            self.snapshot_error = str(exc)
            return None
        self.snapshot_error = None
        return workers

    def _write_snapshot(self, workers: dict[str, bytes]) -> None:
        engine = self._engine
        self.store.flush()
        payload = snapshot_payload(
            engine.state, workers, self.commands.state(), fund=self.plan.name
        )
        self.store.write_snapshot(self.store.last_seq, payload)
        self.last_snapshot_unix = time.time()

    async def close(self) -> None:
        if self.engine is not None:
            for worker in self.engine.workers.values():
                await worker.close()


async def _next_or_none(slices: AsyncIterator[Slice]) -> Slice | None:
    """The next slice, or None at the end (a task cannot carry StopAsyncIteration well)."""
    try:
        return await anext(slices)
    except StopAsyncIteration:
        return None
