"""In-process and process workers: same results, and how a child process fails."""

from __future__ import annotations

import asyncio
import pickle
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from core.costs import FixedBasisPoints, PerShare
from core.errors import InvalidInputError
from core.market import Slice
from core.step import StepReport
from workers.errors import StrategyLoadError, WorkerCrashed, WorkerError, WorkerTimeout
from workers.factory import WorkerSpec, create_worker
from workers.host import HostClient, LedgerConfig
from workers.inprocess import InProcessWorker
from workers.process import ProcessWorker

SAMPLES = "tests.workers.sample_strategies"
ISOLATED = "tests.workers.isolated_strategy"
COSTLY = LedgerConfig(commission=PerShare(), slippage=FixedBasisPoints(Decimal(5)))
STRATEGIES = {
    "ma": ("workers.strategies.moving_average:MovingAverageCrossover", {"fast": 5, "slow": 20}),
    "mom": ("workers.strategies.momentum:MomentumStrategy", {"lookback": 10, "top": 2}),
}


def _spec(sid: str, path: str, params: dict[str, Any], mode: str, **kw: Any) -> WorkerSpec:
    return WorkerSpec(sid, path, params, COSTLY, mode, **kw)  # type: ignore[arg-type]


@asynccontextmanager
async def _started(spec: WorkerSpec, cash: int = 100_000) -> AsyncIterator[HostClient]:
    worker = create_worker(spec)
    await worker.start(Decimal(cash))
    try:
        yield worker
    finally:
        await worker.close()


async def _steps(worker: HostClient, slices: list[Slice], trading: bool = True) -> list[StepReport]:
    return [(await worker.step(market, trading)).report for market in slices]


async def _session(worker: HostClient, slices: list[Slice]) -> dict[str, Any]:
    """Trade `slices` with capital moving in and out on the way; return what it produced."""
    await worker.start(Decimal(100_000))
    reports, transfers = [], []
    for i, market in enumerate(slices):
        reports.append((await worker.step(market, trading=i % 50 != 49)).report)
        if i == 100:
            transfers.append(await worker.withdraw(Decimal(30_000)))
        elif i == 150:
            transfers.append(await worker.deposit(Decimal(10_000)))
        elif i == 200:
            transfers.append(await worker.cancel_orders("test"))
    state = await worker.ledger_state()
    final = pickle.loads(await worker.snapshot())
    transfers.append(await worker.withdraw(Decimal(10**9)))
    await worker.close()
    return {
        "reports": reports,
        "transfers": transfers,
        "ledger": state,
        "context": final["context"],
        "strategy": vars(final["strategy"]),
    }


async def test_in_process_and_process_workers_give_identical_results(window: list[Slice]) -> None:
    sessions = []
    for mode in ("inprocess", "process"):
        workers = [create_worker(_spec(sid, *s, mode)) for sid, s in STRATEGIES.items()]
        sessions.append(await asyncio.gather(*(_session(w, window) for w in workers)))
    for local, remote in zip(*sessions, strict=True):
        assert any(r.fills for r in local["reports"])
        for key in ("reports", "transfers", "ledger", "context", "strategy"):
            assert local[key] == remote[key], key


async def test_a_process_snapshot_continues_in_process(window: list[Slice]) -> None:
    path, params = STRATEGIES["ma"]
    async with _started(_spec("ma", path, params, "process")) as remote:
        first = await _steps(remote, window[:150])
        snapshot = await remote.snapshot()
        rest = await _steps(remote, window[150:])
        state = await remote.ledger_state()
    local = create_worker(_spec("ma", path, params, "inprocess"))
    await local.restart(snapshot)
    assert await _steps(local, window[150:]) == rest and any(r.fills for r in first + rest)
    assert await local.ledger_state() == state


async def test_a_step_past_its_deadline_kills_the_child(window: list[Slice]) -> None:
    spec = _spec("sleepy", f"{SAMPLES}:Sleeping", {"on_bar": 3}, "process", step_timeout_s=0.5)
    async with _started(spec) as worker:
        assert isinstance(worker, ProcessWorker)
        await _steps(worker, window[:2])
        snapshot, state = await worker.snapshot(), await worker.ledger_state()
        assert state["positions"]
        pid = worker.pid
        with pytest.raises(WorkerTimeout, match=r"overran 0\.5 s; killed"):
            await worker.step(window[2], True)
        assert not worker.alive and worker.pid is None
        with pytest.raises(WorkerCrashed, match="not running"):
            await worker.step(window[2], True)
        await worker.restart(snapshot)
        assert worker.alive and worker.pid not in (None, pid)
        assert await worker.ledger_state() == state
        report = (await worker.step(window[2], False)).report
        assert report.ts == window[2].ts and report.error is None


async def test_a_cancelled_request_kills_the_child(window: list[Slice]) -> None:
    async with _started(_spec("sleepy", f"{SAMPLES}:Sleeping", {"on_bar": 1}, "process")) as worker:
        snapshot = await worker.snapshot()
        step = asyncio.create_task(worker.step(window[0], True))
        await asyncio.sleep(0)  # let the request go out
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
        assert not worker.alive  # its reply would have answered the next request
        await worker.restart(snapshot)
        assert (await worker.step(window[0], False)).report.error is None


async def test_a_child_that_exits_is_reported_crashed(window: list[Slice]) -> None:
    async with _started(_spec("exit", f"{SAMPLES}:Exiting", {"on_bar": 2}, "process")) as worker:
        await worker.step(window[0], True)
        snapshot = await worker.snapshot()
        with pytest.raises(WorkerCrashed, match="died during step \\(exit code 1\\)"):
            await worker.step(window[1], True)
        assert not worker.alive
        await worker.restart(snapshot)
        assert (await worker.step(window[1], False)).report.error is None


@pytest.mark.parametrize("mode", ["inprocess", "process"])
async def test_a_raising_strategy_reports_the_error_and_keeps_running(
    window: list[Slice], mode: str
) -> None:
    async with _started(_spec("bug", f"{SAMPLES}:Raising", {"on_bar": 2}, mode)) as worker:
        reports = await _steps(worker, window[:4])
        assert [r.error for r in reports] == [None, "RuntimeError: strategy bug", None, None]
        assert reports[1].fills  # the order of bar 1 filled on bar 2 all the same
        with pytest.raises(InvalidInputError, match="amount must be >= 0"):
            await worker.deposit(Decimal(-1))
        with pytest.raises(InvalidInputError, match="is not after"):
            await worker.step(window[0], True)
        assert (await worker.withdraw(None))[2] == 0


@pytest.mark.parametrize("mode", ["inprocess", "process"])
@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"{SAMPLES}:NoHandleData", "has no handle_data method"),
        (f"{SAMPLES}:AsyncHandleData", "handle_data is an async or generator function"),
        (f"{SAMPLES}:GeneratorInitialize", "initialize is an async or generator function"),
        (f"{SAMPLES}:FailingInit", "failed to initialize: KeyError"),
    ],
)
async def test_start_failures_are_load_errors(mode: str, path: str, message: str) -> None:
    worker = create_worker(_spec("bad", path, {}, mode))
    with pytest.raises(StrategyLoadError, match=message):
        await worker.start(Decimal(1))
    assert not worker.alive
    with pytest.raises(WorkerCrashed):
        await worker.deposit(Decimal(1))
    await worker.close()


async def test_the_parent_never_imports_the_strategy(window: list[Slice]) -> None:
    assert ISOLATED not in sys.modules
    spec = _spec("iso", f"{ISOLATED}:ChildOnly", {"shares": 7}, "process")
    async with _started(spec) as worker:
        await _steps(worker, window[:3])
        assert await worker.snapshot()  # opaque bytes: the parent does not unpickle them
        released = await worker.release_positions()
        assert sorted(p["asset"] for p in released) == ["NVDA", "ORCL", "YHOO"]
        assert {p["amount"] for p in released} == {"7"}
    assert ISOLATED not in sys.modules


async def test_in_process_overruns_are_flagged(window: list[Slice]) -> None:
    spec = _spec("slow", f"{SAMPLES}:Sleeping", {"on_bar": 2, "sleep_s": 0.05}, "inprocess")
    worker = create_worker(replace(spec, step_timeout_s=0.01))
    await worker.start(Decimal(1000))
    outcomes = [await worker.step(market, True) for market in window[:3]]
    assert [o.overrun for o in outcomes] == [False, True, False]
    assert outcomes[1].duration_s >= 0.05
    assert isinstance(worker, InProcessWorker) and worker.host.context.bars == 3


async def test_close_is_idempotent_and_ends_the_child() -> None:
    worker = create_worker(_spec("idle", f"{SAMPLES}:Idle", {}, "process"))
    assert isinstance(worker, ProcessWorker)
    await worker.start(Decimal(0))
    with pytest.raises(WorkerError, match="already running"):
        await worker.start(Decimal(0))
    process = worker._process
    assert process is not None and process.is_alive()
    await worker.close()
    await worker.close()
    assert worker.pid is None and not worker.alive
    with pytest.raises(WorkerCrashed):
        await worker.snapshot()


def test_spec_validation() -> None:
    path = f"{SAMPLES}:Idle"
    for bad in (
        {"strategy_id": ""},
        {"strategy_path": "no_colon"},
        {"mode": "thread"},
        {"step_timeout_s": 0},
        {"history_bars": 0},
    ):
        with pytest.raises(ValueError):
            WorkerSpec(**{"strategy_id": "x", "strategy_path": path, **bad})
    assert isinstance(create_worker(WorkerSpec("x", path)), InProcessWorker)


@pytest.mark.parametrize("mode", ["inprocess", "process"])
async def test_a_slice_the_arithmetic_cannot_take_is_a_step_error_not_a_crash(mode: str) -> None:
    from datetime import UTC, datetime, timedelta

    from core.market import Bar

    def market(day: int, open_: str, close: str = "10") -> Slice:
        t = datetime(2024, 1, 2, tzinfo=UTC) + timedelta(days=day)
        return Slice(
            t, {"AAA": Bar.of(t, "AAA", open_, max(open_, close, key=Decimal), "9", close)}
        )

    spec = _spec("lev", f"{SAMPLES}:Leveraged", {"shares": 10}, mode)
    async with _started(spec) as worker:
        first = (await worker.step(market(0, "10"), True)).report
        failed = (await worker.step(market(1, "1e999999999"), True)).report
        assert failed.error is not None and failed.error.startswith("Overflow")
        assert (failed.value, failed.fills) == (first.value, ())
        filled = (await worker.step(market(2, "10"), True)).report
        assert filled.error is None and len(filled.fills) == 1
        assert (await worker.ledger_state())["positions"][0]["amount"] == "10"
