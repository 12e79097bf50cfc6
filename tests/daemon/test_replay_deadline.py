"""Recovery re-runs journaled steps without the step deadline: a restart on a slow machine
must not time out (and quarantine) a step that completed in the live run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from core.ledger import Ledger
from core.records import StrategyState
from daemon.digest import fund_digest
from daemon.feeds.synthetic import synthetic_slices
from daemon.persistence import StateStore
from daemon.recoverable import RecoverableWorker
from daemon.startup import FundPlan
from daemon.supervisor import Supervisor
from workers.factory import WorkerSpec, create_worker

STEP_TIMEOUT_S = 0.1
SLOW_S = 0.25  # past the deadline, well inside the control timeout
BARS = 6


def plan() -> FundPlan:
    return FundPlan(
        name="replay-deadline",
        capital=Decimal(100_000),
        strategies=(("slow", "slow", Decimal("0.5")),),
        new_reserve=Ledger,
        new_rebalancer=lambda: None,
    )


def maker(marker: Path):
    def make(sid: str, catalog: str) -> RecoverableWorker:
        spec = WorkerSpec(
            sid,
            "tests.workers.sample_strategies:SlowWhenMarked",
            {"marker": str(marker), "sleep_s": SLOW_S, "slow_bars": BARS - 1, "symbol": "AAA"},
            mode="process",
            step_timeout_s=STEP_TIMEOUT_S,
        )
        return RecoverableWorker(create_worker(spec))

    return make


async def test_journal_replay_does_not_time_out_steps_that_completed_live(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "slow"
    slices = synthetic_slices(
        ["AAA"],
        start=datetime(2024, 1, 2, tzinfo=UTC),
        interval=timedelta(days=1),
        bars=BARS,
        seed=3,
    )
    with StateStore.open(tmp_path / "state", "every_slice") as store:
        live = Supervisor(plan(), store, maker(marker), snapshot_every=10**9)
        await live.start()
        for market in slices:
            await live.process(market)
        expected = await fund_digest(live._engine)
        await live.close()  # no final snapshot: a restart replays the whole journal

    # from now on the strategy's first BARS - 1 steps overrun the deadline: all the slices
    # but the last are followed by another journal record, so they completed live
    marker.touch()
    with StateStore.open(tmp_path / "state", "every_slice") as store:
        restarted = Supervisor(plan(), store, maker(marker), snapshot_every=10**9)
        await restarted.start()
        try:
            engine = restarted._engine
            assert restarted.replayed == BARS
            assert engine.book.records["slow"].state is StrategyState.RUNNING
            assert not [e for e in engine.state.events if e.kind.startswith("fault")]
            assert await fund_digest(engine) == expected
        finally:
            await restarted.close()


async def test_a_rebuilt_worker_replays_its_logged_steps_without_the_step_deadline(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "slow"
    slices = synthetic_slices(
        ["AAA"], start=datetime(2024, 1, 2, tzinfo=UTC), interval=timedelta(days=1), bars=3, seed=4
    )
    worker = maker(marker)("slow", "slow")
    await worker.start(Decimal(10_000))
    try:
        for market in slices:
            await worker.step(market, True)
        before = await worker.ledger_state()
        marker.touch()  # replaying the three logged steps now takes 3 x SLOW_S
        await worker.rebuild()
        assert await worker.ledger_state() == before
    finally:
        await worker.close()
