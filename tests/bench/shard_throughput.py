"""Shard throughput: the supervisor with N SMA-crossover strategies hosted in K shards,
against the same fund with every strategy in-process, in the same run, on a paced-off replay
of the shipped daily OHLCV files.

    .venv/bin/python -m tests.bench.shard_throughput [--sizes 100 1000] [--shards 2]
        [--slices 2000] [--idle | --variants] [--pause-ms MS] [--backend local|ray]
        [--read-every K] [--statistics shards supervisor]

By default strategy i trades symbol i mod 3 with SMA(10) against SMA(30): the strategies of
one symbol are copies, so a third of the fund trades on the same slices (the worst case for
the slowest slices). `--variants`: windows that differ from one strategy of a symbol to the
next (fast 5-20, slow 25-45: 416 pairs per symbol), as a sweep of strategy variants has them.
`--idle`: strategies that do nothing (`handle_data` returns at once), so the figures are the
supervisor's and the shards' own cost per strategy: what limits one supervisor.
`--pause-ms MS`: the fund waits that long after each slice (not timed), as between the bars
of a live feed: every mode then steps each slice with whatever the machine did meanwhile in
its caches, where a replay back to back keeps the in-process fund's warm.
`--read-every K`: every K slices, every strategy's statistics are read, as a rebalance's
algorithm or a metrics scrape reads them (shards send them first: `daemon.shard_statistics`).
`--statistics`: one shard run for each place the statistics may be updated
(`workers.statistics`: in the shards, the default, or by the supervisor on every slice).
Every run prints the supervisor's own CPU time per strategy and slice ("sup us": this
process's CPU time, the shards' excluded); each shard run prints its shard processes' CPU
time per strategy and slice ("shard us", the shards together: what the work of one strategy
costs in its shard, less noisy than the rates when the machine's speed moves) and their
resident memory at the end. `--backend ray`: the shards are Ray actors (reserving no CPU)
on a local Ray cluster started for the run (`tests.support.ray_cluster`, loopback only, as
many CPUs as this machine's).

Two measures of what the machine allows come with the runs. First, the same CPU-bound loop
in K processes at once against one process alone ("K cores do X times the work of one").
Then, after each size's runs, "K funds apart": K independent in-process funds of N / K of
the strategies each, run at once in their own processes (slices/s of the slowest): what K
shards would reach if sharding cost nothing, the cores, caches and memory shared as they are
during the run. It can beat the first measure, as a fund of N / K strategies has a smaller
working set than one of N."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.market import Slice
from daemon import heap
from daemon.engine import Worker
from daemon.persistence import StateStore
from daemon.shard_pool import ShardPool
from daemon.supervisor import Supervisor
from tests.bench.daemon_throughput import PATH, SYMBOLS, load_slices, pct, plan
from tests.support.ray_cluster import RayCluster
from workers.factory import WorkerSpec, create_worker
from workers.shard_backend import MakeShard
from workers.shard_process import ShardOptions, ShardProcess
from workers.shard_ray import RayShards

IDLE = "tests.workers.sample_strategies:Idle"


def spec(sid: str, catalog: str, mode: str, workload: str = "sma") -> WorkerSpec:
    """Strategy `catalog` ("s<i>") of a `workload`: "sma" (SMA(10)/SMA(30) on symbol i mod 3),
    "variants" (the same on windows that differ between the strategies of one symbol) or
    "idle"."""
    if workload == "idle":
        return WorkerSpec(sid, IDLE, {}, mode=mode, step_timeout_s=5)  # type: ignore[arg-type]
    i = int(catalog[1:])
    fast, slow = 10, 30
    if workload == "variants":  # 16 x 26 distinct windows per symbol
        j = i // len(SYMBOLS)
        fast, slow = 5 + j % 16, 25 + j // 16 % 26
    params = {"symbols": [SYMBOLS[i % len(SYMBOLS)]], "fast": fast, "slow": slow}
    return WorkerSpec(sid, PATH, params, mode=mode, step_timeout_s=5)  # type: ignore[arg-type]


@dataclass
class Run:
    latencies: list[float]
    """Seconds of `Supervisor.process` per slice."""
    cpu_s: float
    """This process's CPU time over the slices (the shard processes' excluded)."""
    rss: list[int]
    """Each shard process's resident memory at the end (bytes)."""
    shard_cpu_s: float | None
    """The shard processes' CPU time over the slices, together (None: none, or not
    readable here)."""


async def run(
    slices: list[Slice],
    n: int,
    shards: int,
    state: Path,
    workload: str = "sma",
    backend: MakeShard = ShardProcess,
    read_every: int = 0,
    keep_statistics: bool = True,
    pause_s: float = 0.0,
) -> Run:
    """The fund over `slices`; `shards` 0: every strategy in-process. `read_every` > 0:
    after every that many slices, read every strategy's statistics (timed with the slice).
    `pause_s`: the fund waits that long after each slice (not timed), as between a live
    feed's bars."""
    options = ShardOptions(step_timeout_s=5, keep_statistics=keep_statistics)
    pool = ShardPool(max(shards, 1), options, backend)

    def make(sid: str, catalog: str) -> Worker:
        if shards:
            return pool.member(spec(sid, catalog, "shard", workload))
        return create_worker(spec(sid, catalog, "inprocess", workload))

    with StateStore.open(state, "interval") as store:
        sup = Supervisor(plan(n), store, make, snapshot_every=10**9)
        await sup.start()
        heap.settle()  # as the daemon does (daemon.app)
        latencies = []
        try:
            pids = [s.process.pid for s in pool.shards if s.process.pid] if shards else []
            shard_started = cpu_seconds(pids)
            cpu_started = time.process_time()
            for index, market in enumerate(slices, 1):
                t0 = time.perf_counter()
                await sup.process(market)
                if read_every and index % read_every == 0:
                    await sup._engine.refresh_statistics()  # nothing in-process
                    read_statistics(sup)
                latencies.append(time.perf_counter() - t0)
                if pause_s:
                    await asyncio.sleep(pause_s)
            cpu_s = time.process_time() - cpu_started
            shard_ended = cpu_seconds(pids)
            rss = [resident_bytes(s.process.pid) for s in pool.shards if s.process.pid]
        finally:
            await sup.close()
            await pool.close()
    shard_cpu_s = None
    if shard_started is not None and shard_ended is not None:
        shard_cpu_s = shard_ended - shard_started
    return Run(latencies, cpu_s, rss, shard_cpu_s)


def read_statistics(sup: Supervisor) -> float:
    """What a reader of every strategy's statistics reads (their Sharpe ratios' sum)."""
    return sum(rec.performance.sharpe_ratio for rec in sup._engine.book.records.values())


def _spin(loops: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(loops):
        total += i
    return time.perf_counter() - started


def parallel_ceiling(processes: int, loops: int = 10_000_000) -> float:
    """How many times the work of one process `processes` processes do at once."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        alone = min(pool.apply(_spin, (loops,)) for _ in range(2))  # one process at a time
        together = max(pool.map(_spin, [loops] * processes, chunksize=1))
    return processes * alone / together


def _fund_apart(
    n: int, count: int, state: str, workload: str, pause_s: float, start: Any, results: Any
) -> None:
    """One of `split_ceiling`'s funds: `n` in-process strategies over the first `count`
    slices, started with the others (`start`, a barrier); its seconds go to `results`."""

    async def fund() -> float:
        slices = (await load_slices())[:count]
        start.wait()
        return sum((await run(slices, n, 0, Path(state), workload, pause_s=pause_s)).latencies)

    results.put(asyncio.run(fund()))


def split_ceiling(n: int, parts: int, count: int, tmp: str, workload: str, pause_s: float) -> float:
    """Seconds per slice of the slowest of `parts` independent in-process funds of
    `n / parts` strategies each, run at once in their own processes: what `parts` shards
    would take with no cost of their own, this machine's cores, caches and memory shared as
    they are during the run."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(parts), context.SimpleQueue()
    size = n // parts
    funds = [
        context.Process(
            target=_fund_apart,
            args=(size, count, f"{tmp}/apart-{n}-{k}", workload, pause_s, start, results),
        )
        for k in range(parts)
    ]
    for fund in funds:
        fund.start()
    seconds: list[float] = [results.get() for _ in funds]
    for fund in funds:
        fund.join()
    return max(seconds) / count


def cpu_seconds(pids: list[int]) -> float | None:
    """The processes' CPU time so far (user and system, `/proc/<pid>/stat`), together;
    None without processes, or when one is not readable (a Ray actor on another node)."""
    if not pids:
        return None
    total = 0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


def resident_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def shard_backend(name: str) -> Iterator[MakeShard]:
    """`local`: shard processes; `ray`: shard actors on a local Ray cluster, for the run."""
    if name == "local":
        yield ShardProcess
        return
    with RayCluster(num_cpus=os.cpu_count() or 1) as cluster:
        os.environ.update(cluster.env)
        import ray

        ray.init(address=cluster.address, namespace="bench", log_to_driver=False)
        try:
            yield RayShards(ray, num_cpus=0)
        finally:
            ray.shutdown()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--slices", type=int, default=0, help="first slices only (0: all)")
    parser.add_argument("--idle", action="store_true", help="strategies that do nothing")
    parser.add_argument(
        "--variants",
        action="store_true",
        help="SMA strategies whose windows differ (not 333 copies of one per symbol)",
    )
    parser.add_argument("--backend", choices=("local", "ray"), default="local")
    parser.add_argument(
        "--read-every",
        type=int,
        default=0,
        help="read every strategy's statistics every this many slices, as a rebalance's "
        "algorithm or a metrics scrape does (0: never)",
    )
    parser.add_argument(
        "--statistics",
        nargs="+",
        choices=("shards", "supervisor"),
        default=["shards"],
        help="where shard-hosted strategies' statistics are updated (workers.statistics): "
        "one shard run for each",
    )
    parser.add_argument(
        "--pause-ms",
        type=float,
        default=0.0,
        help="wait this long after each slice (not timed), as between a live feed's bars",
    )
    args = parser.parse_args()
    with shard_backend(args.backend) as backend:
        await measure(args, backend)


async def measure(args: Any, backend: MakeShard) -> None:
    slices = await load_slices()
    if args.slices:
        slices = slices[: args.slices]
    print(f"{len(slices)} slices of {', '.join(SYMBOLS)}")
    ceiling = parallel_ceiling(args.shards)
    print(f"{args.shards} cores do {ceiling:.2f} times the work of one (CPU-bound loop)")
    print(
        f"{'case':<22}{'slices/s':>10}{'steps/s':>11}{'p50 ms':>8}{'p99 ms':>8}{'ratio':>7}"
        f"{'sup us':>8}{'shard us':>10}"
    )
    pause_s = args.pause_ms / 1000
    workload = "idle" if args.idle else "variants" if args.variants else "sma"
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            base = 0.0
            cases = [(0, "")] + [(args.shards, where) for where in args.statistics]
            for shards, where in cases:
                result = await run(
                    slices,
                    n,
                    shards,
                    Path(tmp) / f"{n}-{shards}-{where}",
                    workload,
                    backend,
                    args.read_every,
                    where != "supervisor",
                    pause_s,
                )
                lat, rss = result.latencies, result.rss
                rate = len(slices) / sum(lat)
                base = base or rate
                kind = "shard" if args.backend == "local" else "ray"
                case = f"N={n} " + (f"{kind} K={shards}" if shards else "in-process")
                if len(args.statistics) > 1 and shards:
                    case += f" ({where[:3]})"
                supervisor_us = result.cpu_s / len(slices) / n * 1e6
                shard_cpu = result.shard_cpu_s
                shard_us = "-" if shard_cpu is None else f"{shard_cpu / len(slices) / n * 1e6:.2f}"
                memory = ", ".join(f"{b / 2**20:.0f}" for b in rss)
                print(
                    f"{case:<22}{rate:>10,.0f}{rate * n:>11,.0f}{pct(lat, 50):>8.3f}"
                    f"{pct(lat, 99):>8.3f}{rate / base:>7.2f}{supervisor_us:>8.2f}{shard_us:>10}"
                    + (f"  shard RSS MiB: {memory}" if rss else "")
                )
            rate = 1 / split_ceiling(n, args.shards, len(slices), tmp, workload, pause_s)
            case = f"N={n} {args.shards} funds apart"
            print(f"{case:<22}{rate:>10,.0f}{rate * n:>11,.0f}{'-':>8}{'-':>8}{rate / base:>7.2f}")


if __name__ == "__main__":
    asyncio.run(main())
