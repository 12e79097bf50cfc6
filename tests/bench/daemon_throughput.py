"""Daemon throughput: the supervisor with worker hosts on a paced-off replay of the shipped
daily OHLCV files, against `PortfolioAllocator.execute_bar` on the same slices in the same run;
then the time to recover from a snapshot plus a long journal tail.

    .venv/bin/python -m tests.bench.daemon_throughput [--tail 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from core import Ledger, PortfolioAllocator
from core.market import Slice
from daemon import heap
from daemon.feeds import ReplayFeed
from daemon.feeds.synthetic import synthetic_slices
from daemon.persistence import StateStore, encode_slice
from daemon.startup import FundPlan
from daemon.supervisor import Supervisor
from workers.factory import WorkerSpec, create_worker
from workers.host import HostClient
from workers.strategies import MovingAverageCrossover

DATA = Path(__file__).resolve().parents[1] / "data"
FILES = {
    s: DATA / f"{s.lower()}-{span}-ohlcv-daily.csv"
    for s, span in (("NVDA", "1999-2014"), ("ORCL", "1995-2014"), ("YHOO", "1996-2015"))
}
SYMBOLS = sorted(FILES)
PATH = "workers.strategies.moving_average:MovingAverageCrossover"


async def load_slices() -> list[Slice]:
    async with ReplayFeed(FILES) as feed:
        return [s async for s in feed]


def plan(n: int) -> FundPlan:
    share = (Decimal(1) / n).quantize(Decimal("0.0001"))
    return FundPlan(
        name="bench",
        capital=Decimal(1_000_000) * n,
        strategies=tuple((f"s{i}", f"s{i}", share) for i in range(n)),
        new_reserve=Ledger,
        new_rebalancer=lambda: None,
    )


def maker(mode: str):
    def make(sid: str, catalog: str) -> HostClient:
        i = int(catalog[1:])
        params = {"symbols": [SYMBOLS[i % len(SYMBOLS)]], "fast": 10, "slow": 30}
        return create_worker(WorkerSpec(sid, PATH, params, mode=mode, step_timeout_s=5))  # type: ignore[arg-type]

    return make


async def run_daemon(
    slices: list[Slice], n: int, mode: str, state: Path, fsync: str = "interval"
) -> list[float]:
    with StateStore.open(state, fsync) as store:
        sup = Supervisor(plan(n), store, maker(mode), snapshot_every=10**9)
        await sup.start()
        heap.settle()  # as the daemon does (daemon.app)
        latencies = []
        try:
            for market in slices:
                t0 = time.perf_counter()
                await sup.process(market)
                latencies.append(time.perf_counter() - t0)
        finally:
            await sup.close()
    return latencies


def run_core(slices: list[Slice], n: int) -> float:
    share = (Decimal(1) / n).quantize(Decimal("0.0001"))
    fund = PortfolioAllocator(Decimal(1_000_000) * n)
    for i in range(n):
        fund.add_strategy(f"s{i}", MovingAverageCrossover([SYMBOLS[i % 3]], 10, 30), share)
    t0 = time.perf_counter()
    for market in slices:
        fund.execute_bar(market.ts, market)
    return time.perf_counter() - t0


def journal_cost(slices: list[Slice], state: Path) -> float:
    """Seconds per slice to encode it and append it to an interval-mode journal: the
    per-slice price of exact recovery, paid whatever the number of strategies."""
    with StateStore.open(state, "interval") as store:
        t0 = time.perf_counter()
        for market in slices:
            store.append("slice", encode_slice(market))
        return (time.perf_counter() - t0) / len(slices)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def recovery(tail: int, n: int, state: Path) -> tuple[float, int]:
    slices = synthetic_slices(
        SYMBOLS,
        start=datetime(2000, 1, 3, tzinfo=UTC),
        interval=timedelta(minutes=1),
        bars=tail,
        seed=1,
    )
    with StateStore.open(state, "off") as store:
        sup = Supervisor(plan(n), store, maker("inprocess"), snapshot_every=10**9)
        await sup.start()
        heap.settle()  # as the daemon does (daemon.app)
        await sup.snapshot()
        for market in slices:
            await sup.process(market)
        await sup.close()
    t0 = time.perf_counter()
    with StateStore.open(state, "off") as store:
        sup = Supervisor(plan(n), store, maker("inprocess"))
        await sup.start()
        heap.settle()  # as the daemon does (daemon.app)
        await sup.close()
    return time.perf_counter() - t0, sup.replayed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tail", type=int, default=100_000)
    args = parser.parse_args()
    slices = await load_slices()
    print(f"{len(slices)} slices of {', '.join(SYMBOLS)}")
    print(
        f"{'case':<16}{'slices/s':>10}{'steps/s':>10}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'core steps/s':>14}{'ratio':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n, mode in ((10, "inprocess"), (100, "inprocess"), (10, "process")):
            lat = await run_daemon(slices, n, mode, Path(tmp) / f"{n}-{mode}")
            total = sum(lat)
            core = n * len(slices) / run_core(slices, n)
            steps = n * len(slices) / total
            print(
                f"{f'N={n} {mode}':<16}{len(slices) / total:>10,.0f}{steps:>10,.0f}"
                f"{pct(lat, 50):>8.3f}{pct(lat, 99):>8.3f}{core:>14,.0f}{steps / core:>7.2f}"
            )
        journal_us = journal_cost(slices, Path(tmp) / "journal") * 1e6
        print(f"journal (encode + append) per slice: {journal_us:.1f} us")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process: {rss:.0f} MiB")
        seconds, replayed = await recovery(args.tail, 10, Path(tmp) / "recovery")
        print(f"recovery: snapshot + {replayed:,} journal records, 10 strategies: {seconds:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
