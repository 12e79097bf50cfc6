"""A strategy the daemon quarantines for a fault of its worker (a step past its deadline) has
its open orders cancelled, as for any quarantine, live and when the fault is replayed."""

from __future__ import annotations

from decimal import Decimal

from core.book import FundBook
from core.ledger import Ledger
from core.records import QUARANTINE_CANCEL_REASON
from daemon.engine import EngineState, FundEngine
from daemon.recoverable import RecoverableWorker
from tests.support.drivers import flat_slices
from workers.factory import WorkerSpec, create_worker

HANGS = "tests.support.rogue_strategies:LimitThenHangs"


async def _engine() -> tuple[FundEngine, RecoverableWorker]:
    reserve = Ledger()
    reserve.transfer_in(Decimal(100_000))
    engine = FundEngine(EngineState(FundBook(reserve), None), {})
    spec = WorkerSpec("hangs", HANGS, {"on_bar": 3}, mode="process", step_timeout_s=0.5)
    worker = RecoverableWorker(create_worker(spec))
    await worker.start()
    await engine.add("hangs", "test", Decimal("0.5"), worker)
    return engine, worker


def _cancelled(state: dict[str, object]) -> list[tuple[object, object]]:
    closed = state["closed_orders"]
    assert isinstance(closed, list)
    return [(o["status"], o["reason"]) for o in closed]


async def test_a_timed_out_strategy_has_its_orders_cancelled_live_and_on_replay() -> None:
    slices = flat_slices(4)
    engine, worker = await _engine()
    try:
        for market in slices:
            await engine.step(market)
        live = await worker.ledger_state()
        rec = engine.book.records["hangs"]
        assert rec.quarantined and rec.pause_reason is not None
        assert rec.pause_reason.startswith("quarantined: WorkerTimeout")
    finally:
        await worker.close()
    assert live["open_orders"] == []
    assert _cancelled(live) == [("cancelled", QUARANTINE_CANCEL_REASON)]
    replayed, again = await _engine()  # the journal's replay: the fault is known
    try:
        for i, market in enumerate(slices):
            faults = {"hangs": rec.last_error or ""} if i == 2 else None
            await replayed.step(market, faults, replay=True)
        assert await again.ledger_state() == live
    finally:
        await again.close()
