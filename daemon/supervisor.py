"""The supervisor: feed -> commands due -> journal -> workers -> book -> rebalancer -> snapshot.

Startup is recovery: the newest valid snapshot is loaded and the journal tail after it is
replayed through the same code path, so a daemon killed anywhere resumes exactly where the
journal says it was. Commands are journaled before they are applied, slices before they
are stepped; both are applied only between slices.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from redis.exceptions import RedisError

from core.book import FundBook
from core.errors import CoreError
from core.ledger import Ledger
from core.market import Slice
from core.rebalancer import AllocationRebalancer
from daemon.commands import (
    Add,
    Command,
    Pause,
    Rebalance,
    Remove,
    Resume,
    Snapshot,
    Status,
    encode_command,
    parse_command,
)
from daemon.engine import EngineState, FundEngine, Worker
from daemon.errors import CommandRejected, RecoveryError
from daemon.persistence import StateStore, decode_slice, encode_slice
from daemon.stopping import StopGuard, Stopped
from workers.errors import WorkerError

SNAPSHOT_VERSION = 1

MakeWorker = Callable[[str, str], Worker]
"""(strategy id, catalog name) -> a worker, created but not started."""


@dataclass(frozen=True)
class FundPlan:
    """What the fund starts with when the state directory is empty."""

    name: str
    capital: Decimal
    strategies: tuple[tuple[str, str, Decimal], ...]  # (id, catalog name, allocation)
    new_reserve: Callable[[], Ledger]
    new_rebalancer: Callable[[], AllocationRebalancer | None]
    max_consecutive_errors: int = 3
    lookback_window: int = 252
    periods_per_year: float = 252
    risk_free_rate: float = 0.0


@dataclass(frozen=True)
class Outcome:
    command_id: str
    status: str  # "applied" | "rejected"
    slice_index: int
    detail: str = ""


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
        self.applied_ids: set[str] = set()
        self._inbox: asyncio.Queue[tuple[Command, asyncio.Future[Outcome]]] = asyncio.Queue(
            maxsize=10_000
        )
        self.replayed = 0

    # ---- startup ---------------------------------------------------------------------
    async def start(self) -> None:
        """Recover from the state directory, or start the planned fund when it is empty."""
        snapshot = self.store.latest_snapshot()
        after = 0
        if snapshot is None:
            await self._fresh()
        else:
            await self._load(snapshot.payload)
            after = snapshot.journal_seq
        held: Slice | None = None
        faults: dict[str, str] = {}
        for record in self.store.records(after):
            self.replayed += 1
            if record.kind == "fault":
                fault = json.loads(record.payload)
                faults[fault["strategy_id"]] = fault["reason"]
                continue
            if held is not None:  # a later record exists: this slice completed before
                await self._engine.step(held, faults, replay=True)
                held, faults = None, {}
            if record.kind == "slice":
                held = decode_slice(record.payload)
            else:
                await self._replay(record.kind, record.payload)
        if held is not None:
            await self._step(held, faults)

    async def _fresh(self) -> None:
        reserve = self.plan.new_reserve()
        reserve.transfer_in(self.plan.capital)
        book = FundBook(
            reserve,
            max_consecutive_errors=self.plan.max_consecutive_errors,
            lookback_window=self.plan.lookback_window,
            periods_per_year=self.plan.periods_per_year,
            risk_free_rate=self.plan.risk_free_rate,
        )
        state = EngineState(book=book, rebalancer=self.plan.new_rebalancer())
        self.engine = FundEngine(state, {})
        for sid, catalog, allocation in self.plan.strategies:
            worker = self.make_worker(sid, catalog)
            await worker.start()
            await self.engine.add(sid, catalog, allocation, worker)

    async def _load(self, payload: bytes) -> None:
        blob = pickle.loads(payload)
        if blob.get("version") != SNAPSHOT_VERSION:
            raise RecoveryError(f"snapshot version {blob.get('version')!r} is not supported")
        state: EngineState = blob["engine"]
        workers: dict[str, Worker] = {}
        for sid in state.book.records:
            worker = self.make_worker(sid, state.catalog_of[sid])
            await worker.restart(blob["workers"][sid])
            workers[sid] = worker
        self.engine = FundEngine(state, workers)
        self.applied_ids = set(blob["applied_ids"])

    async def _replay(self, kind: str, payload: bytes) -> None:
        if kind == "command":
            await self._apply(parse_command(payload))
        else:
            raise RecoveryError(f"unknown journal record kind {kind!r}")

    @property
    def _engine(self) -> FundEngine:
        if self.engine is None:
            raise RecoveryError("the supervisor has not started")
        return self.engine

    # ---- commands --------------------------------------------------------------------
    def submit(self, command: Command) -> asyncio.Future[Outcome]:
        """The internal command entry point: queue a command for the next slice boundary."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait((command, future))
        return future

    async def _drain_commands(self) -> None:
        while not self._inbox.empty():
            command, future = self._inbox.get_nowait()
            outcome = await self._handle(command)
            if not future.done():
                future.set_result(outcome)

    async def _handle(self, command: Command) -> Outcome:
        index = self._engine.state.slice_index
        if isinstance(command, Status):
            return Outcome(command.command_id, "applied", index, "status")
        if isinstance(command, Snapshot):
            await self.snapshot()
            return Outcome(command.command_id, "applied", index, "snapshot written")
        if command.command_id in self.applied_ids:
            return Outcome(command.command_id, "rejected", index, "duplicate command_id")
        worker = None
        if isinstance(command, Add):
            # start the strategy before journaling: whether its code loads and initialises
            # is not decided by the journal, so an add that cannot start is never journaled
            try:
                worker = await self._start_worker(command)
            except (CoreError, CommandRejected, ValueError, WorkerError) as exc:
                return Outcome(command.command_id, "rejected", index, str(exc))
        self.store.append("command", encode_command(command))
        return await self._apply(command, worker)

    async def _start_worker(self, command: Add) -> Worker:
        self._engine.book.validate_add(command.strategy_id, command.allocation)
        worker = self.make_worker(command.strategy_id, command.catalog)
        try:
            await worker.start()
        except BaseException:
            await worker.close()
            raise
        return worker

    async def _apply(self, command: Command, worker: Worker | None = None) -> Outcome:
        """Apply a journaled command. Deterministic: replay gives the same outcome. `worker`:
        the started worker of a live `add` (a replayed one is started again here)."""
        engine = self._engine
        index = engine.state.slice_index
        self.applied_ids.add(command.command_id)
        try:
            if isinstance(command, Add):
                detail = await self._add(command, worker or await self._restart_added(command))
            else:
                detail = await self._dispatch(engine, command)
        except (CoreError, CommandRejected, ValueError) as exc:
            return Outcome(command.command_id, "rejected", index, str(exc))
        return Outcome(command.command_id, "applied", index, detail)

    async def _restart_added(self, command: Add) -> Worker:
        """Recovery: the strategy of a journaled `add` started live, so it must start now."""
        try:
            return await self._start_worker(command)
        except (CoreError, CommandRejected, ValueError, WorkerError) as exc:
            raise RecoveryError(
                f"cannot re-create strategy {command.strategy_id!r} ({command.catalog}) "
                f"added by command {command.command_id!r}: {type(exc).__name__}: {exc}"
            ) from exc

    async def _dispatch(self, engine: FundEngine, command: Command) -> str:
        if isinstance(command, Pause):
            await engine.pause(command.strategy_id, command.reason)
        elif isinstance(command, Resume):
            await engine.resume(command.strategy_id)
        elif isinstance(command, Remove):
            value = await engine.remove(command.strategy_id, command.liquidate)
            return f"returned {value}"
        elif isinstance(command, Rebalance):
            return await self._rebalance(engine, command)
        return "ok"

    async def _add(self, command: Add, worker: Worker) -> str:
        engine = self._engine
        try:
            await engine.add(command.strategy_id, command.catalog, command.allocation, worker)
        except BaseException:
            await worker.close()
            raise
        return "added"

    async def _rebalance(self, engine: FundEngine, command: Rebalance) -> str:
        rebalancer = engine.state.rebalancer
        if command.weights is not None:
            targets: dict[str, Any] = dict(command.weights)
        elif rebalancer is None:
            raise CommandRejected("no allocation algorithm is configured")
        else:
            performances = {sid: r.performance for sid, r in engine.book.records.items()}
            targets = rebalancer.algorithm.calculate_allocations(performances)
        record = await engine.rebalance(targets, command.reason)
        if rebalancer is not None and engine.book.current_timestamp is not None:
            rebalancer.record_rebalance(engine.book.current_timestamp, record.targets)
        return f"costs {record.costs}"

    # ---- the slice loop --------------------------------------------------------------
    async def run(
        self,
        feed: AsyncIterator[Slice],
        stop: asyncio.Event,
        on_slice: Callable[[Slice], None] | None = None,
    ) -> None:
        """Process slices until the feed ends or `stop` is set, then snapshot.

        A stop request ends the run after the slice being processed, or at once while the
        feed is waiting for its next slice. `on_slice` sees every slice the feed yields,
        including those skipped as already processed before a restart (progress display)."""
        slices = aiter(feed)
        async with StopGuard(stop) as guard:
            while not stop.is_set():
                try:
                    market = await guard.wait_for(anext(slices))
                except (StopAsyncIteration, Stopped):
                    break
                if on_slice is not None:
                    on_slice(market)
                last = self._engine.book.current_timestamp
                if last is None or market.ts > last:
                    await self.process(market)
                # else: already processed before a restart; only the acknowledgement is due
                await self._acknowledge(feed, market)
        await self._drain_commands()
        await self.snapshot()

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
            print(f"paperfund: acknowledgement failed, will retry: {exc}", file=sys.stderr)

    async def process(self, market: Slice) -> None:
        if not self._inbox.empty():
            await self._drain_commands()
        self.store.append("slice", encode_slice(market))  # commits when the interval is due
        await self._step(market)
        if self._engine.state.slice_index % self.snapshot_every == 0:
            await self.snapshot()

    async def _step(self, market: Slice, faults: dict[str, str] | None = None) -> None:
        """Step the engine; journal the worker faults it met (they depend on the clock)."""
        for event in await self._engine.step(market, faults):
            if event.kind == "fault":
                fault = {"strategy_id": event.strategy_id, "reason": event.detail}
                self.store.append("fault", json.dumps(fault).encode())

    async def snapshot(self) -> None:
        engine = self._engine
        workers = {sid: await w.snapshot() for sid, w in engine.workers.items()}
        self.store.flush()
        blob = {
            "version": SNAPSHOT_VERSION,
            "engine": engine.state,
            "workers": workers,
            "applied_ids": sorted(self.applied_ids),
        }
        self.store.write_snapshot(self.store.last_seq, pickle.dumps(blob, protocol=5))

    async def close(self) -> None:
        if self.engine is not None:
            for worker in self.engine.workers.values():
                await worker.close()
