"""Where a fund's engine comes from: its plan, or the newest snapshot's payload.

A fund whose state directory is empty starts from its `FundPlan`: the reserve takes the
planned capital and each planned strategy is added. Otherwise the engine is restored from
the payload of the newest snapshot, whose layout (`SNAPSHOT_VERSION`) `snapshot_payload`
writes: the engine state, each worker's snapshot and the remembered commands.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from core.book import FundBook
from core.ledger import Ledger
from core.rebalancer import AllocationRebalancer
from daemon import shard_statistics
from daemon.dispatch import MakeWorker
from daemon.engine import EngineState, FundEngine, Worker
from daemon.errors import RecoveryError
from daemon.outcomes import CommandMemory, Outcome

SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class FundPlan:
    """What the fund starts with when the state directory is empty."""

    name: str
    capital: Decimal
    strategies: tuple[tuple[str, str, Decimal], ...]  # (id, catalog name, allocation)
    new_reserve: Callable[[], Ledger]
    new_rebalancer: Callable[[], AllocationRebalancer | None]
    max_consecutive_errors: int = 3
    lookback_window: int = 252
    periods_per_year: float = 252
    risk_free_rate: float = 0.0


def planned_engine(plan: FundPlan) -> FundEngine:
    """The engine of a fresh fund: the planned capital in the reserve, no strategy yet."""
    reserve = plan.new_reserve()
    reserve.transfer_in(plan.capital)
    book = FundBook(
        reserve,
        max_consecutive_errors=plan.max_consecutive_errors,
        lookback_window=plan.lookback_window,
        periods_per_year=plan.periods_per_year,
        risk_free_rate=plan.risk_free_rate,
    )
    return FundEngine(EngineState(book=book, rebalancer=plan.new_rebalancer()), {})


async def add_planned(engine: FundEngine, plan: FundPlan, make_worker: MakeWorker) -> None:
    """Start each planned strategy's worker and add it to a fresh fund's engine."""
    for sid, catalog, allocation in plan.strategies:
        worker = make_worker(sid, catalog)
        await worker.start()
        await engine.add(sid, catalog, allocation, worker)


async def restored_engine(
    payload: bytes, make_worker: MakeWorker, commands: CommandMemory
) -> FundEngine:
    """The engine a snapshot's payload holds, its workers restarted from their snapshots;
    the remembered commands are restored into `commands`."""
    blob = pickle.loads(payload)
    if blob.get("version") != SNAPSHOT_VERSION:
        raise RecoveryError(f"snapshot version {blob.get('version')!r} is not supported")
    state: EngineState = blob["engine"]
    workers: dict[str, Worker] = {}
    for sid in state.book.records:
        worker = make_worker(sid, state.catalog_of[sid])
        await worker.restart(blob["workers"][sid])
        await shard_statistics.track(state.book.records[sid], worker)
        workers[sid] = worker
    engine = FundEngine(state, workers)
    if "commands" in blob:
        commands.restore(blob["commands"])
    else:  # written before command bodies were remembered
        commands.restore_outcomes(blob.get("outcomes", ()))
    return engine


def snapshot_payload(
    state: EngineState,
    workers: Mapping[str, bytes],
    commands: list[tuple[str, str | None, Outcome]],
    *,
    fund: str | None = None,
) -> bytes:
    """A snapshot's payload: the engine state, each worker's snapshot by strategy id, the
    remembered commands (`CommandMemory.state`) and the fund's name (for `paperfund report`;
    recovery does not read it)."""
    blob = {
        "version": SNAPSHOT_VERSION,
        "fund": fund,
        "engine": state,
        "workers": workers,
        "commands": commands,
    }
    return pickle.dumps(blob, protocol=5)
