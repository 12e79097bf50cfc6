"""Order-path throughput: strategy-bar updates per second of a trading-heavy workload
(`tests.bench.order_workload`: about one order every two bars per strategy) through
`PortfolioAllocator.execute_bar`, against a hand-written loop doing the same Decimal ledger
work with no framework, measured in the same run; then the in-process daemon (supervisor,
journal, workers) on the same slices. Every run must end with exactly the same cash and
positions per strategy as the hand-written loop, or the benchmark fails. The fund and the
loop run alternately, best of `--repeats` each; the daemon runs once.

    .venv/bin/python -m tests.bench.order_throughput [--sizes 10,100] [--bars 2000] [--seed 1]
                                                     [--repeats 3]
    .venv/bin/python -m tests.bench.order_throughput --no-daemon
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import tempfile
import time
from pathlib import Path

from core import Ledger
from core.market import Slice
from daemon import heap
from daemon.persistence import StateStore
from daemon.startup import FundPlan
from daemon.supervisor import Supervisor
from tests.bench.order_workload import (
    FUND_CAPITAL,
    PATH,
    SHARE,
    Books,
    check_same,
    fund_books,
    hand_books,
    orders_placed,
    price_slices,
    run_framework,
    run_hand_written,
    state_books,
    symbol_of,
)
from workers.factory import WorkerSpec, create_worker
from workers.host import HostClient


def plan(n: int) -> FundPlan:
    return FundPlan(
        name="orders",
        capital=FUND_CAPITAL,
        strategies=tuple((f"s{i}", f"s{i}", SHARE) for i in range(n)),
        new_reserve=Ledger,
        new_rebalancer=lambda: None,
    )


def make_worker(sid: str, catalog: str) -> HostClient:
    params = {"symbol": symbol_of(int(catalog[1:]))}
    return create_worker(WorkerSpec(sid, PATH, params, mode="inprocess", step_timeout_s=5))


async def run_daemon(slices: list[Slice], n: int, state: Path) -> tuple[float, Books]:
    """Seconds for the supervisor to process `slices` (journal with `fsync: interval`, as the
    replay example ships), and the books its workers end with."""
    with StateStore.open(state, "interval") as store:
        sup = Supervisor(plan(n), store, make_worker, snapshot_every=10**9)
        await sup.start()
        heap.settle()  # as the daemon does (daemon.app)
        try:
            t0 = time.perf_counter()
            for market in slices:
                await sup.process(market)
            seconds = time.perf_counter() - t0
            engine = sup.engine
            assert engine is not None
            states = {sid: await w.ledger_state() for sid, w in engine.workers.items()}
            books = state_books(states)
        finally:
            await sup.close()
    return seconds, books


def measure(slices: list[Slice], n: int, repeats: int, daemon: bool, tmp: Path) -> str:
    """One row of the table, best of `repeats` alternating runs of the fund and the loop;
    raises if any run's books differ from the hand-written loop's."""
    updates = n * len(slices)
    framework_s, hand_s = [], []
    for _ in range(repeats):
        seconds, fund = run_framework(slices, n)
        framework_s.append(seconds)
        seconds, books = run_hand_written(slices, n)
        hand_s.append(seconds)
        expected = hand_books(books)
        check_same(fund_books(fund), expected)
    framework, hand = updates / min(framework_s), updates / min(hand_s)
    row = f"{n:>6} {updates:>9} {orders_placed(fund):>8} {framework:>12,.0f} {hand:>12,.0f}"
    row += f" {framework / hand:>6.2f}"
    if daemon:
        daemon_s, daemon_books = asyncio.run(run_daemon(slices, n, tmp / f"daemon-{n}"))
        check_same(daemon_books, expected, "the daemon")
        row += f" {updates / daemon_s:>10,.0f} {updates / daemon_s / framework:>7.2f}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100")
    parser.add_argument("--bars", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="best of, fund and loop")
    parser.add_argument("--no-daemon", dest="daemon", action="store_false")
    args = parser.parse_args()
    slices = price_slices(args.bars, args.seed)
    print(f"python {platform.python_version()} on {platform.machine()}; {len(slices)} slices")
    header = (
        f"{'N':>6} {'updates':>9} {'orders':>8} {'framework/s':>12} {'hand/s':>12} {'ratio':>6}"
    )
    if args.daemon:
        header += f" {'daemon/s':>10} {'d/core':>7}"
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            print(measure(slices, n, args.repeats, args.daemon, Path(tmp)), flush=True)
    print(
        "every run ended with the hand-written loop's cash, realised P&L, positions and "
        "average costs, to the digit"
    )


if __name__ == "__main__":
    main()
