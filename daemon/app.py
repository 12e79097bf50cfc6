"""`paperfund run`: build the fund from settings, recover its state, stream the feed.

Signal handlers only set an event: SIGTERM/SIGINT finish the current slice, write a snapshot
and exit 0; a second signal exits at once (the journal makes recovery exact anyway).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from config import FundSettings, build_ledger_models, build_rebalancer, feed_options
from config.strategies import strategy_class_path
from core.ledger import Ledger
from daemon import heap, logs
from daemon.control.plane import ControlPlane
from daemon.digest import fund_digest
from daemon.engine import Worker
from daemon.feeds import build_feed
from daemon.greeting import greet
from daemon.notify import Notifier
from daemon.persistence import StateStore
from daemon.persistence.durability import FsyncMode
from daemon.progress import Progress, feed_length
from daemon.recoverable import RecoverableWorker
from daemon.shard_backends import shard_backend
from daemon.shard_pool import ShardPool
from daemon.startup import FundPlan
from daemon.summary import Out, print_summary
from daemon.supervisor import Supervisor
from workers.factory import WorkerSpec, create_worker
from workers.host import LedgerConfig
from workers.shard_backend import MakeShard
from workers.shard_process import ShardOptions, ShardProcess

SECOND_SIGNAL_EXIT = 130
GRACE_EXCEEDED_EXIT = 124

_log = logs.get("paperfund.daemon")


def fund_plan(settings: FundSettings) -> FundPlan:
    commission, slippage, fill_model = build_ledger_models(settings)

    def new_reserve() -> Ledger:
        return Ledger(commission=commission, slippage=slippage, fill_model=fill_model)

    return FundPlan(
        name=settings.fund.name,
        capital=settings.fund.capital,
        strategies=tuple((s.id, s.id, s.allocation) for s in settings.strategies),
        new_reserve=new_reserve,
        new_rebalancer=lambda: build_rebalancer(settings),
        max_consecutive_errors=settings.deadlines.max_consecutive_errors,
        lookback_window=settings.lookback_window,
        periods_per_year=settings.periods_per_year,
        risk_free_rate=settings.risk_free_rate,
    )


def worker_maker(
    settings: FundSettings, backend: MakeShard = ShardProcess
) -> Callable[[str, str], Worker]:
    commission, slippage, fill_model = build_ledger_models(settings)
    ledger = LedgerConfig(
        commission=commission,
        slippage=slippage,
        fill_model=fill_model,
        allow_short=settings.ledger.allow_short,
        allow_negative_cash=settings.ledger.allow_negative_cash,
    )
    catalog = settings.strategy_catalog()
    deadlines, workers = settings.deadlines, settings.workers
    options = ShardOptions(
        deadlines.step_timeout_s,
        deadlines.control_timeout_s,
        workers.memory_limit_mb,
        keep_statistics=workers.statistics == "shards",
    )
    pool = ShardPool(workers.shards, options, backend)  # a shard starts with its first member

    def make(strategy_id: str, name: str) -> Worker:
        if name not in catalog:
            raise ValueError(f"unknown catalog strategy {name!r}; known: {sorted(catalog)}")
        template = catalog[name]
        spec = WorkerSpec(
            strategy_id=strategy_id,
            strategy_path=strategy_class_path(template.class_path),
            params=dict(template.params),
            ledger=ledger,
            mode=template.worker,
            step_timeout_s=settings.deadlines.step_timeout_s,
            control_timeout_s=settings.deadlines.control_timeout_s,
            history_bars=settings.history_bars,
        )
        if spec.mode == "shard":
            return pool.member(spec)
        worker = create_worker(spec)
        return RecoverableWorker(worker) if spec.mode == "process" else worker

    return make


@dataclass
class RunResult:
    slices: int
    replayed: int


async def run_fund(
    settings: FundSettings, out: Out = print, sockets: Sequence[socket.socket] = ()
) -> RunResult:
    """Run the fund until its feed ends or a stop is requested. `sockets`: the HTTP API's
    listening sockets when bound beforehand (`daemon.preflight`)."""
    # first: connecting to Ray installs a SIGTERM handler that the fund's own must replace
    with shard_backend(settings.workers) as backend:
        return await _run_connected(settings, backend, out, sockets)


async def _run_connected(
    settings: FundSettings, backend: MakeShard, out: Out, sockets: Sequence[socket.socket]
) -> RunResult:
    stop = asyncio.Event()
    notifier = Notifier()
    _install_signal_handlers(stop, notifier, settings.deadlines.shutdown_grace_s)
    state = settings.state
    name = settings.fund.name
    with StateStore.open(
        state.dir, state.fsync, state.fsync_interval_s, keep_snapshots=state.keep_snapshots
    ) as store:
        report = store.recovery_report
        if not report.clean:
            _log.warning("journal repaired", fund=name, report=report.summary())
        supervisor = Supervisor(
            fund_plan(settings),
            store,
            worker_maker(settings, backend),
            snapshot_every=state.snapshot_every,
        )
        plane = ControlPlane(settings, supervisor, store, sockets)
        try:
            await plane.start()  # /healthz answers during a long recovery; /readyz says so
            await supervisor.start()
            heap.settle()  # the fund's long-lived state out of the cyclic collector's passes
            engine = supervisor.engine
            assert engine is not None
            at, replayed = engine.state.slice_index, supervisor.replayed
            _log.info(
                f"fund {name} ready at slice {at} (replayed {replayed} journal records)",
                fund=name,
                slice_index=at,
                replayed=replayed,
            )
            greet(sys.stderr, name, plane.http_url, plane.command_stream)
            background = [
                asyncio.create_task(notifier.keep_alive()),
                asyncio.create_task(
                    notifier.ready_when(
                        lambda: plane.health.ready()[0],
                        lambda: f"fund {name} ready at slice {supervisor.slice_index}",
                    )
                ),
            ]
            try:
                await _stream(settings, supervisor, store, stop, plane)
            finally:
                for task in background:
                    task.cancel()
            notifier.stopping()
            await engine.refresh_statistics()
            print_summary(engine.book, name, out)
            out(f"state digest: {await fund_digest(engine)}")
            _log.info("fund stopped", fund=name, slice_index=engine.state.slice_index)
            return RunResult(engine.state.slice_index, supervisor.replayed)
        finally:
            await plane.close()
            await supervisor.close()


async def _stream(
    settings: FundSettings,
    supervisor: Supervisor,
    store: StateStore,
    stop: asyncio.Event,
    plane: ControlPlane,
) -> None:
    """Run the feed through the supervisor until it ends or a stop is requested."""
    kind, options = feed_options(settings)
    feed = build_feed(kind, **options)
    plane.attach_feed(feed)
    progress = Progress(sys.stderr, feed_length(feed))
    flusher = asyncio.create_task(flush_periodically(store))
    async with feed:
        try:
            with logs.status_line(progress):
                await supervisor.run(feed, stop, on_slice=progress.update)
        finally:
            flusher.cancel()
            progress.finish()


async def flush_periodically(store: StateStore) -> None:
    """In `fsync: interval` mode, commit waiting journal records once their interval has
    passed even when nothing else is appended (a live feed may be quiet for hours)."""
    if store.options.mode is not FsyncMode.INTERVAL:
        return
    while True:
        await asyncio.sleep(store.options.interval_s / 2)
        store.flush_if_due()


def _install_signal_handlers(stop: asyncio.Event, notifier: Notifier, grace_s: float) -> None:
    """SIGTERM/SIGINT: finish the slice, snapshot and exit 0, within `grace_s` (else exit at
    once with GRACE_EXCEEDED_EXIT); a second signal exits at once. The journal makes
    recovery exact either way."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            _exit_now(SECOND_SIGNAL_EXIT)
        stop.set()
        notifier.stopping()
        _log.info("stop requested", grace_s=grace_s)
        loop.call_later(grace_s, _grace_exceeded, grace_s)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)


def _grace_exceeded(grace_s: float) -> None:
    _log.error("shutdown took longer than its grace; exiting now", grace_s=grace_s)
    _exit_now(GRACE_EXCEEDED_EXIT)


def _exit_now(code: int) -> None:
    """Exit without finishing the slice (the journal makes recovery exact); the strategy
    worker processes go too, so that none outlives the daemon."""
    for child in multiprocessing.active_children():
        child.kill()
    logging.shutdown()
    os._exit(code)
