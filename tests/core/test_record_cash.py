"""A strategy's record shows its ledger's cash after every transfer, not the cash of its
last step: `/v1/strategies`, the metrics' total cash and the rebalance planner read it.
A withdrawal larger than the strategy's cash sells positions first (its costs come out of
cash too), so the driver takes the cash its ledger reports; the same in both drivers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import PortfolioAllocator
from core.book import FundBook
from core.ledger import Ledger
from daemon.engine import EngineState, FundEngine
from tests.support.drivers import CAPITAL, flat_slices
from workers.factory import WorkerSpec, create_worker
from workers.loader import build_strategy

BUYER = ("buyer", "tests.workers.sample_strategies:Leveraged", {"shares": 4000})
STEADY = ("steady", "tests.support.rogue_strategies:Steady", {})
# the buyer holds 40,000 of stock and 10,000 cash; a target of 10 % must sell to withdraw
TARGETS = {"buyer": Decimal("0.1"), "steady": Decimal("0.6")}


def _allocator() -> dict[str, tuple[Decimal, Decimal]]:
    fund = PortfolioAllocator(CAPITAL)
    for sid, path, params in (BUYER, STEADY):
        fund.add_strategy(sid, build_strategy(path, params), Decimal("0.5"))
    for market in flat_slices(3):
        fund.execute_bar(market.ts, market)
    fund.rebalance(TARGETS, "test")
    return {
        sid: (rec.cash, rec.ledger.cash)  # type: ignore[union-attr]
        for sid, rec in fund.book.records.items()
    }


async def _engine(mode: str) -> dict[str, tuple[Decimal, Decimal]]:
    reserve = Ledger()
    reserve.transfer_in(CAPITAL)
    engine = FundEngine(EngineState(FundBook(reserve), None), {})
    try:
        for sid, path, params in (BUYER, STEADY):
            worker = create_worker(WorkerSpec(sid, path, params, mode=mode))  # type: ignore[arg-type]
            await worker.start()
            await engine.add(sid, "test", Decimal("0.5"), worker)
        for market in flat_slices(3):
            await engine.step(market)
        await engine.rebalance(TARGETS, "test")
        ledgers = {sid: await w.ledger_state() for sid, w in engine.workers.items()}
        return {
            sid: (rec.cash, Decimal(ledgers[sid]["cash"]))
            for sid, rec in engine.book.records.items()
        }
    finally:
        for worker in engine.workers.values():
            await worker.close()


def _check(cash: dict[str, tuple[Decimal, Decimal]]) -> None:
    for sid, (recorded, ledger) in cash.items():
        assert recorded == ledger, sid
    assert cash["buyer"][0] < Decimal(10_000)  # it sold stock, and more than it withdrew in cash
    assert cash["steady"][0] > Decimal(50_000)  # it received cash


def test_the_allocator_records_the_cash_a_transfer_leaves() -> None:
    _check(_allocator())


@pytest.mark.parametrize("mode", ["inprocess", "process"])
async def test_the_daemon_records_the_cash_a_transfer_leaves(mode: str) -> None:
    cash = await _engine(mode)
    _check(cash)
    assert cash == _allocator()
