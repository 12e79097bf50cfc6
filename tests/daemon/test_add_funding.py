"""A new strategy is funded from the reserve's cash, never by selling what the reserve holds:
with positions handed over by a strategy removed without liquidation, an add larger than the
reserve's cash is refused, by `PortfolioAllocator` and by the daemon's engine alike, and
nothing has changed (no sale, no cost). Before, the reserve sold at a cost that no record
reported, and the engine's rollback of a failed deposit did not undo those sales."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal

import pytest

from core import PortfolioAllocator
from core.book import FundBook
from core.costs import FixedBasisPoints, PerShare
from core.errors import InvalidInputError
from core.ledger import Ledger
from core.market import Slice
from daemon.digest import fund_digest
from daemon.engine import EngineState, FundEngine
from tests.core.strategies import BuyAndHold
from tests.support.drivers import flat_slices
from workers.factory import WorkerSpec, create_worker

CAPITAL = Decimal(100_000)
BUYER = "tests.core.strategies:BuyAndHold"


def refused(fund_value: Decimal, cash: Decimal) -> str:
    """The refusal of an add at weight 0.5 when the reserve has `cash` in cash."""
    amount = (fund_value / 2).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return re.escape(f"cannot fund late with {amount}: the reserve has {cash} in cash")


def _costly(_sid: str = "") -> Ledger:
    return Ledger(
        commission=PerShare(cost=Decimal("0.005"), min_trade_cost=Decimal("1")),
        slippage=FixedBasisPoints(bps=Decimal("5")),
    )


def _holdings(ledger: Ledger) -> tuple[Decimal, dict[str, Decimal]]:
    return ledger.cash, {asset: p.amount for asset, p in ledger.positions.items()}


def test_the_allocator_refuses_an_add_the_reserves_cash_cannot_fund() -> None:
    slices = flat_slices(3, volume=1_000_000)
    fund = PortfolioAllocator(CAPITAL, ledger_factory=_costly)
    fund.add_strategy("holder", BuyAndHold("AAA", 9_000), "1")  # 9,000 x 10 of 100,000
    for market in slices[:2]:
        fund.execute_bar(market.ts, market)
    fund.remove_strategy("holder", liquidate=False)
    before = fund.total_capital, _holdings(fund.reserve)
    assert before[1][1] == {"AAA": Decimal(9_000)}
    with pytest.raises(InvalidInputError, match=refused(before[0], fund.reserve.cash)):
        fund.add_strategy("late", BuyAndHold(), "0.5")
    assert (fund.total_capital, _holdings(fund.reserve)) == before
    assert "late" not in fund.strategies


async def _engine_after_handover(slices: list[Slice]) -> FundEngine:
    reserve = _costly()
    reserve.transfer_in(CAPITAL)
    engine = FundEngine(EngineState(FundBook(reserve), None), {})
    spec = WorkerSpec("holder", BUYER, {"symbol": "AAA", "amount": 9_000}, mode="inprocess")
    worker = create_worker(spec)
    await worker.start()
    await engine.add("holder", "test", Decimal(1), worker)
    for market in slices[:2]:
        await engine.step(market)
    await engine.remove("holder", liquidate=False)
    return engine


async def test_the_engine_refuses_an_add_the_reserves_cash_cannot_fund() -> None:
    engine = await _engine_after_handover(flat_slices(3, volume=1_000_000))
    reserve = engine.book.reserve
    assert reserve.positions["AAA"].amount == 9_000
    before = engine.book.fund_value, _holdings(reserve), await fund_digest(engine)
    worker = create_worker(WorkerSpec("late", BUYER, {}, mode="inprocess"))
    await worker.start()
    try:
        with pytest.raises(InvalidInputError, match=refused(before[0], reserve.cash)):
            await engine.add("late", "test", Decimal("0.5"), worker)
    finally:
        await worker.close()
    assert (engine.book.fund_value, _holdings(reserve), await fund_digest(engine)) == before
    assert "late" not in engine.book.records
