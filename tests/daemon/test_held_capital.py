"""The daemon allocates among running strategies only, like `PortfolioAllocator`: a paused
or quarantined strategy's capital is held where it is, in either kind of worker.

The fund runs in a real supervisor (journal and snapshots in SQLite, workers in this
process or in child processes) on real daily data; the held strategy's ledger is read back
from its worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core import (
    AllocationRebalancer,
    EqualRiskContributionAllocation,
    PortfolioAllocator,
    RebalancingFrequency,
    RiskParityAllocation,
)
from core.ledger import Ledger
from core.records import RebalanceRecord, RebalanceTrigger
from daemon.commands import parse_command
from daemon.engine import Worker
from daemon.persistence import StateStore
from daemon.recoverable import RecoverableWorker
from daemon.startup import FundPlan
from daemon.supervisor import Outcome, Supervisor
from tests.core.held_strategies import Hold, InvestThenFail, holdings
from tests.support.market_data import daily_slices, iter_window
from workers.factory import WorkerSpec, create_worker

D = Decimal
SLICES = list(iter_window(daily_slices(), "2005-01-03", "2005-06-30"))
STRATEGIES = "tests.core.held_strategies"
CATALOG: dict[str, tuple[str, dict[str, Any]]] = {
    "nvda": ("Hold", {"symbol": "NVDA"}),
    "orcl": ("Hold", {"symbol": "ORCL"}),
    "yhoo": ("InvestThenFail", {"symbol": "YHOO"}),
    "yhoo_hold": ("Hold", {"symbol": "YHOO"}),
}
ALGORITHMS: dict[str, Callable[[], Any]] = {
    "risk_parity": lambda: RiskParityAllocation(lookback_window=63),
    "erc": lambda: EqualRiskContributionAllocation(lookback_window=63),
}


def maker(mode: str) -> Callable[[str, str], Worker]:
    def make(sid: str, catalog: str) -> Worker:
        name, params = CATALOG[catalog]
        spec = WorkerSpec(sid, f"{STRATEGIES}:{name}", params, mode=mode)  # type: ignore[arg-type]
        worker = create_worker(spec)
        return RecoverableWorker(worker) if mode == "process" else worker

    return make


@asynccontextmanager
async def supervisor(
    tmp_path: Path, mode: str, third: str, rebalancer: Callable[[], AllocationRebalancer]
) -> AsyncIterator[Supervisor]:
    plan = FundPlan(
        name="held",
        capital=D(1_000_000),
        strategies=(
            ("nvda", "nvda", D("0.3")),
            ("orcl", "orcl", D("0.3")),
            ("yhoo", third, D("0.3")),
        ),
        new_reserve=Ledger,
        new_rebalancer=rebalancer,
    )
    with StateStore.open(tmp_path / "state", "every_slice") as store:
        sup = Supervisor(plan, store, maker(mode), snapshot_every=50)
        await sup.start()
        try:
            yield sup
        finally:
            await sup.close()


async def send(sup: Supervisor, **command: Any) -> Outcome:
    future = sup.submit(parse_command(command))
    await sup._drain_commands()
    return future.result()


async def yhoo_holdings(sup: Supervisor) -> Any:
    return holdings(await sup._engine.workers["yhoo"].ledger_state())


def assert_conserved(records: list[RebalanceRecord]) -> None:
    for record in records:
        assert record.fund_value_after == record.fund_value_before - record.costs


@pytest.mark.parametrize("mode", ["inprocess", "process"])
@pytest.mark.parametrize("name", sorted(ALGORITHMS))
async def test_a_quarantined_strategy_gets_no_new_capital(
    tmp_path: Path, mode: str, name: str
) -> None:
    def rebalancer() -> AllocationRebalancer:
        return AllocationRebalancer(ALGORITHMS[name](), RebalancingFrequency.MONTHLY)

    async with supervisor(tmp_path, mode, "yhoo", rebalancer) as sup:
        book = sup._engine.book
        held = None
        for market in SLICES:
            await sup.process(market)
            if held is None and book.records["yhoo"].quarantined:
                held = await yhoo_holdings(sup), len(book.rebalances)
        assert held is not None
        assert await yhoo_holdings(sup) == held[0]
        after = book.rebalances[held[1] :]
        assert len(after) >= 5  # monthly, February to June
        assert all(set(r.targets) == {"nvda", "orcl"} and "yhoo" not in r.transfers for r in after)
        assert_conserved(book.rebalances)
        daemon_records = [(r.ts, r.targets, r.transfers, r.costs) for r in book.rebalances]

    # the in-process allocator, given the same strategies and bars, rebalances the same way
    fund = PortfolioAllocator(D(1_000_000))
    fund.add_strategy("nvda", Hold("NVDA"), D("0.3"))
    fund.add_strategy("orcl", Hold("ORCL"), D("0.3"))
    fund.add_strategy("yhoo", InvestThenFail("YHOO"), D("0.3"))
    core_rebalancer = rebalancer()
    for market in SLICES:
        fund.execute_bar(market.ts, market)
        fund.rebalance_if_due(core_rebalancer)
    core_records = [(r.ts, r.targets, r.transfers, r.costs) for r in fund.rebalance_history]
    assert daemon_records == core_records


@pytest.mark.parametrize("mode", ["inprocess", "process"])
async def test_a_paused_strategy_is_held_until_an_operator_moves_it(
    tmp_path: Path, mode: str
) -> None:
    def rebalancer() -> AllocationRebalancer:
        return AllocationRebalancer(
            RiskParityAllocation(lookback_window=63),
            RebalancingFrequency.MONTHLY,
            cooldown_days=1,
            drift_threshold=D("0.02"),
        )

    async with supervisor(tmp_path, mode, "yhoo_hold", rebalancer) as sup:
        book = sup._engine.book
        for market in SLICES[:5]:
            await sup.process(market)
        assert (await send(sup, type="pause", command_id="p", strategy_id="yhoo")).status == (
            "applied"
        )
        held, first = await yhoo_holdings(sup), len(book.rebalances)
        for market in SLICES[5:]:
            await sup.process(market)
        configured = await send(sup, type="rebalance", command_id="c", algorithm="configured")
        assert configured.status == "applied"
        after = book.rebalances[first:]
        assert {r.trigger for r in after} == {
            RebalanceTrigger.CALENDAR,
            RebalanceTrigger.DRIFT,
            RebalanceTrigger.MANUAL,
        }
        assert all("yhoo" not in r.targets and "yhoo" not in r.transfers for r in after)
        assert await yhoo_holdings(sup) == held

        value = book.records["yhoo"].value
        moved = await send(sup, type="rebalance", command_id="w", weights={"yhoo": "0.05"})
        assert moved.status == "applied"
        manual = book.rebalances[-1]
        assert manual.transfers["yhoo"] < 0
        assert book.records["yhoo"].value == value + manual.transfers["yhoo"] - manual.costs
        assert await yhoo_holdings(sup) != held
        assert_conserved(book.rebalances)
