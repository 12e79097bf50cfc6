"""What a killed shard actor costs: the supervisor with N SMA-crossover strategies in K shard
actors on a local Ray cluster, one actor `ray.kill`ed before every `--every`-th slice (which
actor: seeded). Such a slice finds its actor dead, rebuilds it in a new actor from its
members' checkpoints and log, and steps the slice again one member per request
(`daemon.shard_search`); the others run as usual.

    .venv/bin/python -m tests.bench.shard_ray_kills [--n 100] [--shards 2] [--slices 300]
        [--every 20]

Prints the slice latency of the slices without a kill (p50, p99; slices that snapshot left
out) and of those with one (mean, max), and checks that no strategy was charged.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from daemon import heap
from daemon.engine import Worker
from daemon.persistence import StateStore
from daemon.shard_pool import ShardPool
from daemon.supervisor import Supervisor
from tests.bench.daemon_throughput import load_slices, pct, plan
from tests.bench.shard_throughput import shard_backend, spec
from workers.shard_process import ShardOptions
from workers.shard_ray import RayShards, ShardActor

SNAPSHOT_EVERY = 50
"""Slices between snapshots (the members' checkpoints a rebuild starts from). A slice that
takes one (one request per member) is left out of the figures."""


async def run(args: argparse.Namespace, state: Path) -> tuple[list[float], list[float], int]:
    """(latencies without a kill, with one, shard rebuilds) in seconds."""
    slices = (await load_slices())[: args.slices]
    picks = random.Random(args.seed)
    with shard_backend("ray") as backend:
        assert isinstance(backend, RayShards)
        ray = backend.ray
        pool = ShardPool(args.shards, ShardOptions(step_timeout_s=5), backend)

        def make(sid: str, catalog: str) -> Worker:
            return pool.member(spec(sid, catalog, "shard"))

        with StateStore.open(state, "interval") as store:
            sup = Supervisor(plan(args.n), store, make, snapshot_every=SNAPSHOT_EVERY)
            await sup.start()
            heap.settle()
            calm: list[float] = []
            killed: list[float] = []
            try:
                for i, market in enumerate(slices):
                    kill = i > 0 and i % args.every == 0
                    if kill:
                        actor = picks.choice(pool.shards).process
                        assert isinstance(actor, ShardActor) and actor.actor is not None
                        ray.kill(actor.actor)
                    t0 = time.perf_counter()
                    await sup.process(market)
                    took = time.perf_counter() - t0
                    if kill:
                        killed.append(took)
                    elif (i + 1) % SNAPSHOT_EVERY:
                        calm.append(took)
                assert sup.engine is not None
                assert all(not r.quarantined for r in sup.engine.book.records.values())
                rebuilds = sum(s.rebuilds for s in pool.shards)
            finally:
                await sup.close()
                await pool.close()
    return calm, killed, rebuilds


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        calm, killed, rebuilds = await run(args, Path(tmp))
    print(f"N={args.n} K={args.shards}: {args.slices} slices, {len(killed)} kills")
    print(f"without a kill or snapshot: p50 {pct(calm, 50):.3f} ms, p99 {pct(calm, 99):.3f} ms")
    print(
        f"with a kill:    mean {statistics.fmean(killed) * 1000:.1f} ms, "
        f"max {max(killed) * 1000:.1f} ms; rebuilds {rebuilds}, nobody charged"
    )


if __name__ == "__main__":
    asyncio.run(main())
