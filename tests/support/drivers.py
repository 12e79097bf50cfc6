"""The same fund run through both drivers: `PortfolioAllocator` in this process, and the
daemon's `FundEngine` with its strategies in workers of one kind (real workers: a process
worker is a child process; driver "shard" hosts them in two shard processes, driver "ray" in
two shard actors on the session's Ray cluster: a test parametrized with it gets the `ray`
fixture, see `tests/conftest.py`). Each run returns what a comparison needs: every ledger's
state and every strategy's record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core import PortfolioAllocator
from core.book import FundBook
from core.ledger import Ledger
from core.market import Bar, Slice
from daemon.engine import EngineState, FundEngine, Worker
from daemon.shard_pool import ShardPool
from workers.factory import WorkerSpec, create_worker
from workers.loader import build_strategy
from workers.ray_actor import ray_api
from workers.shard_backend import MakeShard
from workers.shard_process import ShardOptions, ShardProcess
from workers.shard_ray import RayShards

START = datetime(2024, 1, 2, tzinfo=UTC)
CAPITAL = Decimal(100_000)
DRIVERS = ("allocator", "inprocess", "process", "shard", "ray")
SHARDS = 2


@dataclass(frozen=True)
class Planned:
    strategy_id: str
    path: str
    params: dict[str, Any]
    weight: Decimal


@dataclass
class RunResult:
    fund_value: Decimal
    ledgers: dict[str, dict[str, Any]]
    records: dict[str, tuple[str, bool, str | None, str | None, int, int]]
    """id -> (state, quarantined, pause reason, last error, error count, values recorded)"""


def flat_slices(n: int, price: str = "10", volume: int = 100_000) -> list[Slice]:
    days = (START + timedelta(days=i) for i in range(n))
    return [Slice(ts, {"AAA": Bar.flat(ts, "AAA", price, volume)}) for ts in days]


def _records(book: FundBook) -> dict[str, tuple[str, bool, str | None, str | None, int, int]]:
    return {
        sid: (
            r.state.value,
            r.quarantined,
            r.pause_reason,
            r.last_error,
            r.error_count,
            r.performance.num_observations,
        )
        for sid, r in book.records.items()
    }


def run_allocator(plan: list[Planned], slices: list[Slice]) -> RunResult:
    fund = PortfolioAllocator(CAPITAL, max_consecutive_errors=1)
    for p in plan:
        fund.add_strategy(p.strategy_id, build_strategy(p.path, p.params), p.weight)
    for market in slices:
        fund.execute_bar(market.ts, market)
    ledgers = {sid: _ledger_of(r.ledger) for sid, r in fund.book.records.items()}
    return RunResult(fund.total_capital, ledgers, _records(fund.book))


def _ledger_of(ledger: Ledger | None) -> dict[str, Any]:
    assert ledger is not None
    return ledger.to_state()


async def run_engine(
    plan: list[Planned], slices: list[Slice], mode: str, shards: int = SHARDS
) -> RunResult:
    reserve = Ledger()
    reserve.transfer_in(CAPITAL)
    engine = FundEngine(EngineState(FundBook(reserve, max_consecutive_errors=1), None), {})
    backend: MakeShard = ShardProcess
    if mode == "ray":  # shards on the Ray that the `ray` fixture connected
        mode, backend = "shard", RayShards(ray_api(), num_cpus=0)
    pool = ShardPool(shards, ShardOptions(), backend)
    try:
        for p in plan:
            spec = WorkerSpec(p.strategy_id, p.path, p.params, mode=mode)  # type: ignore[arg-type]
            worker: Worker = pool.member(spec) if mode == "shard" else create_worker(spec)
            await worker.start()
            await engine.add(p.strategy_id, "test", p.weight, worker)
        for market in slices:
            await engine.step(market)
        await engine.refresh_statistics()  # a shard keeps them: read them as a reader does
        book = engine.book
        ledgers = {sid: await w.ledger_state() for sid, w in engine.workers.items()}
        return RunResult(book.fund_value, ledgers, _records(book))
    finally:
        for worker in engine.workers.values():
            await worker.close()
        await pool.close()


async def run(driver: str, plan: list[Planned], slices: list[Slice]) -> RunResult:
    if driver == "allocator":
        return run_allocator(plan, slices)
    return await run_engine(plan, slices, driver)


async def run_every_driver(plan: list[Planned], slices: list[Slice]) -> RunResult:
    """Run the fund through every driver (the "ray" one needs the `ray` fixture); check that
    they all end with the same ledgers, records and fund value, and return the allocator's
    result."""
    results = {driver: await run(driver, plan, slices) for driver in DRIVERS}
    reference = results["allocator"]
    for driver, result in results.items():
        assert result.ledgers == reference.ledgers, driver
        assert result.records == reference.records, driver
        assert result.fund_value == reference.fund_value, driver
    return reference
