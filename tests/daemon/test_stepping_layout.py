"""The engine keeps which worker steps which strategy from one slice to the next, and makes
it again when the book's strategies or their workers change: a strategy removed and added
again under the same id, between two slices, is stepped by its new worker."""

from __future__ import annotations

from decimal import Decimal

from core.book import FundBook
from core.ledger import Ledger
from daemon.engine import EngineState, FundEngine
from tests.support.drivers import CAPITAL, flat_slices
from workers.factory import WorkerSpec, create_worker
from workers.inprocess import InProcessWorker

STEADY = "tests.support.rogue_strategies:Steady"


async def _worker(sid: str) -> InProcessWorker:
    worker = create_worker(WorkerSpec(sid, STEADY, {}, mode="inprocess"))
    assert isinstance(worker, InProcessWorker)
    await worker.start()
    return worker


async def test_a_strategy_added_again_under_its_id_is_stepped_by_its_new_worker() -> None:
    reserve = Ledger()
    reserve.transfer_in(CAPITAL)
    engine = FundEngine(EngineState(FundBook(reserve), None), {})
    first, again, third = flat_slices(3)
    try:
        for sid in ("a", "b"):
            await engine.add(sid, "test", Decimal("0.3"), await _worker(sid))
        await engine.step(first)
        layout = engine._layout
        await engine.step(again)
        assert engine._layout is layout  # nothing changed: not made again
        await engine.remove("b", liquidate=True)  # its worker is closed
        added = await _worker("b")
        await engine.add("b", "test", Decimal("0.3"), added)
        assert list(engine.book.records) == layout.ids  # the same ids, in the same order
        await engine.step(third)
        assert added.host.ledger.last_ts == third.ts
        assert engine._layout is not layout
    finally:
        for worker in engine.workers.values():
            await worker.close()
