"""Faults inside a shard keep each strategy's own semantics. A strategy that raises has its
own error. One that overruns its step deadline, ends the shard's process or pushes it past
its memory limit gets the shard killed: the strategy the shard announced is quarantined with
the reason, the shard is rebuilt, and its other strategies end the slice, and the run, with
exactly the ledgers of a run without the fault. Replaying the journaled fault gives the same
fund without waiting."""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.book import FundBook
from core.ledger import Ledger
from core.market import Slice
from core.records import StrategyState
from daemon.engine import EngineState, Event, FundEngine, Worker
from daemon.recoverable import RecoverableWorker
from daemon.shard_pool import ShardPool
from tests.support.market_data import daily_slices, iter_window
from workers.errors import MemoryLimitTooLow, StrategyLoadError
from workers.factory import WorkerSpec, create_worker
from workers.shard_backend import MakeShard
from workers.shard_process import ShardOptions, ShardProcess

MA = "workers.strategies.moving_average:MovingAverageCrossover"
SAMPLES = "tests.workers.sample_strategies"
FAULT_BAR = 12
SLICES = 30
NEVER = 10_000
SNAPSHOTS = (4, 9)
OPTIONS = ShardOptions(step_timeout_s=1.0, control_timeout_s=30.0, memory_limit_mb=300)


@pytest.fixture(scope="module")
def window() -> list[Slice]:
    return list(iter_window(daily_slices(), "1999-06-01", "1999-08-31"))


FAULTS: dict[str, tuple[str, dict[str, Any], str]] = {
    # kind: (class, params, reason prefix)
    "hang": ("Sleeping", {"sleep_s": 60}, "WorkerTimeout: strategy rogue"),
    "exit": ("Exiting", {}, "WorkerCrashed: strategy rogue"),
    "memory": ("Bloating", {"mb": 400}, "WorkerMemoryExceeded: strategy rogue"),
}


def _specs(rogue_class: str, rogue_params: dict[str, Any]) -> list[WorkerSpec]:
    rogue = WorkerSpec("rogue", f"{SAMPLES}:{rogue_class}", rogue_params, mode="shard")
    first = WorkerSpec("first", MA, {"fast": 3, "slow": 8}, mode="shard")
    last = WorkerSpec("last", MA, {"fast": 5, "slow": 13}, mode="shard")
    return [first, rogue, last]


async def _run(
    specs: list[WorkerSpec],
    slices: list[Slice],
    faults: dict[int, dict[str, str]] | None = None,
    *,
    options: ShardOptions = OPTIONS,
    backend: MakeShard = ShardProcess,
    kinds: tuple[str, ...] = ("fault",),
) -> tuple[dict[str, dict[str, Any]], list[Event], FundEngine, int]:
    """Run the fund in one shard; (ledgers, events of `kinds` (prefixes), engine, shard
    rebuilds)."""
    reserve = Ledger()
    reserve.transfer_in(Decimal(300_000))
    engine = FundEngine(EngineState(FundBook(reserve, max_consecutive_errors=1), None), {})
    weight = Decimal(1) / len(specs)
    pool = ShardPool(1, options, backend)
    events: list[Event] = []
    try:
        for spec in specs:
            worker = pool.member(spec)
            await worker.start()
            await engine.add(spec.strategy_id, "test", weight, worker)
        for i, market in enumerate(slices):
            if i in SNAPSHOTS:  # as the supervisor does: the rebuild starts from these
                for worker in engine.workers.values():
                    await worker.snapshot()
            known = (faults or {}).get(i)
            stepped = await engine.step(market, known, replay=faults is not None)
            events += [e for e in stepped if e.kind.startswith(kinds)]
        ledgers = {sid: await w.ledger_state() for sid, w in engine.workers.items()}
        return ledgers, events, engine, pool.shards[0].rebuilds
    finally:
        await pool.close()


def check_rogue_quarantined(
    events: list[Event],
    engine: FundEngine,
    prefix: str,
    ledgers: dict[str, dict[str, Any]],
    clean: dict[str, dict[str, Any]],
) -> None:
    """One fault, the rogue's, at its bar, with the reason; the others as without it."""
    assert [(e.kind, e.strategy_id, e.slice_index) for e in events] == [
        ("fault", "rogue", FAULT_BAR - 1)
    ]
    assert events[0].detail.startswith(prefix), events[0].detail
    rogue = engine.book.records["rogue"]
    assert rogue.quarantined and rogue.pause_reason == f"quarantined: {events[0].detail}"
    for sid in ("first", "last"):
        assert ledgers[sid] == clean[sid]
        assert engine.book.records[sid].state.value == "running"


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_the_culprit_is_quarantined_and_the_others_end_as_without_the_fault(
    window: list[Slice], kind: str
) -> None:
    cls, params, prefix = FAULTS[kind]
    slices = window[:SLICES]
    clean, _, _, clean_rebuilds = await _run(_specs(cls, {**params, "on_bar": NEVER}), slices)
    ledgers, events, engine, rebuilds = await _run(
        _specs(cls, {**params, "on_bar": FAULT_BAR}), slices
    )
    assert clean_rebuilds == 0 and rebuilds == 1
    check_rogue_quarantined(events, engine, prefix, ledgers, clean)
    # the journal's replay: the fault is known, nothing is killed or waited for
    started = time.monotonic()
    replayed, again, _, replay_rebuilds = await _run(
        _specs(cls, {**params, "on_bar": FAULT_BAR}),
        slices,
        {FAULT_BAR - 1: {"rogue": events[0].detail}},
    )
    assert time.monotonic() - started < 20
    assert replay_rebuilds == 0
    assert replayed == ledgers
    assert [(e.kind, e.detail) for e in again] == [("fault_replayed", events[0].detail)]


async def test_a_strategy_that_raises_has_its_own_error_and_the_shard_lives_on(
    window: list[Slice],
) -> None:
    await check_raising_is_its_own_error(window[:SLICES])


async def check_raising_is_its_own_error(slices: list[Slice], **run: Any) -> None:
    """A strategy that raises has its own error (quarantined after `max_consecutive_errors`
    = 1), the shard is not rebuilt, and the others end as in a run where nothing raises."""
    clean, _, _, _ = await _run(_specs("Raising", {"on_bar": NEVER}), slices)
    ledgers, events, engine, rebuilds = await _run(_specs("Raising", {"on_bar": 5}), slices, **run)
    assert rebuilds == 0 and events == []
    rogue = engine.book.records["rogue"]
    assert rogue.quarantined and rogue.last_error is not None
    assert "strategy bug" in rogue.last_error
    assert {sid: ledgers[sid] for sid in ("first", "last")} == {
        sid: clean[sid] for sid in ("first", "last")
    }


async def test_the_memory_limit_is_on_the_shards_own_memory_not_its_parents_peak(
    window: list[Slice],
) -> None:
    """A child inherits its parent's peak RSS on Linux; a large daemon must not make its
    shards look past their limit."""
    ballast = b"\x01" * (400 << 20)  # this process's peak passes the shards' limit of 300 MiB
    del ballast
    _, events, _, rebuilds = await _run(_specs("Bloating", {"on_bar": NEVER}), window[:5])
    assert (events, rebuilds) == ([], 0)


async def test_a_limit_below_an_empty_shard_is_refused_when_the_shard_starts() -> None:
    """No strategy could step in a shard that starts past its limit: the first member's
    start says so, naming the setting, instead of each step blaming a strategy."""
    pool = ShardPool(1, ShardOptions(memory_limit_mb=1))
    member = pool.member(WorkerSpec("ma", MA, {"fast": 3, "slow": 8}, mode="shard"))
    try:
        with pytest.raises(MemoryLimitTooLow, match=r"takes \d+ MiB .* limit of 1 MiB"):
            await member.start(Decimal(10_000))
        assert not member.shard.process.alive and member.shard.members == {}
    finally:
        await pool.close()


async def check_members_past_the_limit_together_blame_nobody(
    window: list[Slice], mb: int, limit_mb: int, backend: MakeShard = ShardProcess
) -> None:
    """Three strategies that need more memory together than the limit, none growing: the
    first slice stops with an error naming the setting, and nobody is quarantined."""
    reserve = Ledger()
    reserve.transfer_in(Decimal(1_000_000))
    engine = FundEngine(EngineState(FundBook(reserve), None), {})
    pool = ShardPool(1, ShardOptions(memory_limit_mb=limit_mb), backend)
    try:
        for sid in ("h1", "h2", "h3"):
            worker = pool.member(WorkerSpec(sid, f"{SAMPLES}:Heavy", {"mb": mb}, mode="shard"))
            await worker.start()
            await engine.add(sid, "test", Decimal("0.2"), worker)
        together = r"takes \d+ MiB with 3 strategies, past its memory limit of \d+ MiB"
        with pytest.raises(MemoryLimitTooLow, match=together):
            await engine.step(window[0])
        records = engine.book.records.values()
        assert [(r.state, r.quarantined, r.error_count) for r in records] == [
            (StrategyState.RUNNING, False, 0)
        ] * 3
    finally:
        for worker in engine.workers.values():
            await worker.close()
        await pool.close()


async def test_members_past_the_limit_together_blame_nobody(window: list[Slice]) -> None:
    await check_members_past_the_limit_together_blame_nobody(window, 40, 100)


async def test_each_member_gets_its_whole_deadline_from_its_own_start(
    window: list[Slice],
) -> None:
    """The shard re-arms its step timer lazily (`TIMER_SLACK`): a member that starts after a
    slow step of another still has all of `step_timeout_s` (it is not ended at the deadline
    of the member that armed the timer)."""
    timeout_s = 2.0
    early = WorkerSpec("early", f"{SAMPLES}:Sleeping", {"on_bar": 3, "sleep_s": 0.5}, mode="shard")
    late = WorkerSpec("late", f"{SAMPLES}:Sleeping", {"on_bar": 3, "sleep_s": 1.9}, mode="shard")
    options = ShardOptions(timeout_s, control_timeout_s=30.0)
    _, events, engine, rebuilds = await _run([early, late], window[:4], options=options)
    assert (events, rebuilds) == ([], 0)
    assert not any(r.quarantined for r in engine.book.records.values())


async def test_a_replayed_step_past_the_step_deadline_is_an_overrun_not_a_fault(
    window: list[Slice],
) -> None:
    """A replayed step has the control deadline (it completed once before): one that takes
    longer than `step_timeout_s` is reported as an overrun, as for an in-process worker,
    and the shard is not killed."""
    slow = WorkerSpec("slow", f"{SAMPLES}:Sleeping", {"on_bar": 2, "sleep_s": 0.4}, mode="shard")
    ma = WorkerSpec("ma", MA, {"fast": 3, "slow": 8}, mode="shard")
    options = ShardOptions(0.2, control_timeout_s=30.0)
    _, events, engine, rebuilds = await _run(
        [ma, slow], window[:4], {}, options=options, kinds=("fault", "overrun")
    )
    assert rebuilds == 0
    assert [(e.kind, e.strategy_id, e.slice_index) for e in events] == [("overrun", "slow", 1)]
    assert float(events[0].detail.rstrip("s")) >= 0.4
    assert not any(r.quarantined for r in engine.book.records.values())


async def test_faults_found_by_different_workers_in_one_slice_come_in_fund_order(
    window: list[Slice],
) -> None:
    """A shard member and a process worker fault on the same slice: the process worker's is
    found first (its step is awaited before the shard's answer), yet both quarantines and
    their events follow the fund's order, as in every other mode."""
    reserve = Ledger()
    reserve.transfer_in(Decimal(300_000))
    engine = FundEngine(EngineState(FundBook(reserve, max_consecutive_errors=1), None), {})
    pool = ShardPool(1, OPTIONS)
    exiting = f"{SAMPLES}:Exiting"
    workers: list[tuple[str, Worker]] = [
        ("in_shard", pool.member(WorkerSpec("in_shard", exiting, {"on_bar": 3}, mode="shard"))),
        ("ma", pool.member(WorkerSpec("ma", MA, {"fast": 3, "slow": 8}, mode="shard"))),
        (
            "in_process",
            RecoverableWorker(
                create_worker(WorkerSpec("in_process", exiting, {"on_bar": 3}, mode="process"))
            ),
        ),
    ]
    events: list[Event] = []
    try:
        for sid, worker in workers:
            await worker.start()
            await engine.add(sid, "test", Decimal("0.3"), worker)
        for market in window[:5]:
            events += [e for e in await engine.step(market) if e.kind == "fault"]
    finally:
        for _, worker in workers:
            await worker.close()
        await pool.close()
    assert [(e.strategy_id, e.slice_index) for e in events] == [
        ("in_shard", 2),
        ("in_process", 2),
    ]
    assert [sid for sid, r in engine.book.records.items() if r.quarantined] == [
        "in_shard",
        "in_process",
    ]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"{SAMPLES}:NoHandleData", "has no handle_data method"),
        (f"{SAMPLES}:AsyncHandleData", "handle_data is an async or generator function"),
        (f"{SAMPLES}:GeneratorInitialize", "initialize is an async or generator function"),
        (f"{SAMPLES}:FailingInit", "failed to initialize: KeyError"),
    ],
)
async def test_a_member_that_fails_to_start_leaves_the_shard_as_it_was(
    window: list[Slice], path: str, message: str
) -> None:
    """Built but not started (its class is wrong, its `initialize` raises): the error is
    the strategy's, the shard process drops the half-built member (a shard alone with it
    ends), and the shard's other members step on as before."""
    pool = ShardPool(1, OPTIONS)
    bad = pool.member(WorkerSpec("bad", path, {}, mode="shard"))
    shard = bad.shard
    try:
        with pytest.raises(StrategyLoadError, match=message):
            await bad.start(Decimal(1))
        assert not bad.alive and not shard.process.alive
        await pool.member(WorkerSpec("ma", MA, {"fast": 3, "slow": 8}, mode="shard")).start(
            Decimal(10_000)
        )
        with pytest.raises(StrategyLoadError, match=message):
            await bad.start(Decimal(1))
        assert list(shard.members) == ["ma"] and shard.process.alive
        steps, found = await shard.step(window[0], frozenset(), False)
        assert (steps.ids, len(steps.reply.values), found) == (["ma"], 1, {})
    finally:
        await pool.close()


async def test_a_member_that_cannot_be_removed_is_dropped_and_the_shard_heals(
    window: list[Slice], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shard process died, and cannot be rebuilt because one member's code is gone:
    removing that member still drops it (the process is killed instead), and the next
    slice rebuilds the shard with the others, which step on as before."""
    module = tmp_path / "vanishing_strategy.py"
    module.write_text(
        "from workers.strategies.moving_average import MovingAverageCrossover as Gone\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # the shard process is spawned with it
    pool = ShardPool(1, OPTIONS)
    params = {"fast": 3, "slow": 8}
    gone = pool.member(WorkerSpec("gone", "vanishing_strategy:Gone", params, mode="shard"))
    shard = gone.shard
    kept = pool.member(WorkerSpec("ma", MA, params, mode="shard"))
    alone = create_worker(WorkerSpec("ma", MA, params, mode="inprocess"))
    try:
        for worker in (gone, kept, alone):
            await worker.start(Decimal(10_000))
        await shard.step(window[0], frozenset(), False)
        await alone.step(window[0], True)
        module.unlink()
        pid = shard.process.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(StrategyLoadError, match="vanishing_strategy"):
            await shard.rebuild()  # what any operation on the shard would try first
        await gone.close()
        assert list(shard.members) == ["ma"] and not shard.process.alive
        for market in window[1:6]:
            steps, found = await shard.step(market, frozenset(), False)
            expected = await alone.step(market, True)
            assert (steps.ids, found) == (["ma"], {})
            assert steps.reply.values == [expected.report.value]
        assert await kept.ledger_state() == await alone.ledger_state()
    finally:
        await pool.close()
        await alone.close()
