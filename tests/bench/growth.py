"""Bounded growth: a long daemon run keeps its memory and its state database flat, and the
time to recover does not grow with the run's length.

The supervisor of the demo fund (three in-process strategies on five synthetic symbols, one
bar a minute without drift, monthly risk-parity rebalancing) with its state store as the
daemon opens it
(`fsync: interval`, a snapshot every 1,000 slices, three kept), fed `--slices` slices, with a
command (pause, then resume, of one strategy) every `--command-every` slices. Every
`--sample` slices it prints the process's RSS, the database size (file + WAL), the journal
records held and what the snapshot holds that can grow. At each `--recover-at` length
(plus half a snapshot interval, so there is a tail to replay) it stops as a kill would
(no final snapshot), reopens the state directory and times the recovery, then goes on with
the recovered fund.

    .venv/bin/python -m tests.bench.growth [--slices 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import pickle
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from config import FundSettings, feed_options, load_settings
from core.market import Slice
from daemon import heap
from daemon.app import fund_plan, worker_maker
from daemon.commands import parse_command
from daemon.feeds.synthetic import synthetic_slices
from daemon.persistence import StateStore
from daemon.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT_EVERY = 1_000
KEEP_SNAPSHOTS = 3


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def settings(tmp: Path) -> FundSettings:
    data: dict[str, Any] = yaml.safe_load((ROOT / "config/examples/demo.yaml").read_text())
    data["state"] = {"dir": str(tmp / "state"), "snapshot_every": SNAPSHOT_EVERY}
    path = tmp / "fund.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_settings(path)


def slices(fund: FundSettings, count: int) -> Any:
    """One bar a minute, no drift (a random walk that stays in range for a million bars)."""
    _, options = feed_options(fund)
    options.pop("speed")
    options.update(interval=timedelta(minutes=1), bars=count, drift=0.0, volatility=0.001)
    return synthetic_slices(**options)


@dataclass
class Running:
    store: StateStore
    sup: Supervisor


async def open_fund(fund: FundSettings) -> tuple[Running, float]:
    """Open the state directory and recover (or start) the fund; seconds it took."""
    t0 = time.perf_counter()
    store = StateStore.open(fund.state.dir, "interval", keep_snapshots=KEEP_SNAPSHOTS)
    sup = Supervisor(fund_plan(fund), store, worker_maker(fund), snapshot_every=SNAPSHOT_EVERY)
    await sup.start()
    heap.settle()  # as the daemon does (daemon.app)
    return Running(store, sup), time.perf_counter() - t0


async def kill(run: Running) -> None:
    """Stop as a kill after the last commit would: no final snapshot."""
    await run.sup.close()
    run.store.close()


def sample(run: Running, done: int, window_s: float, window: int) -> dict[str, float]:
    store, sup = run.store, run.sup
    snapshot = store.latest_snapshot()
    engine = sup._engine
    return {
        "slices": done,
        "rss_mib": rss_mib(),
        "db_mib": store.file_size_bytes() / 2**20,
        "file_mib": store.path.stat().st_size / 2**20,
        "journal_rows": store.last_seq - store.compacted_through,
        "snapshot_kib": 0 if snapshot is None else len(snapshot.payload) / 1024,
        "ids": len(sup.commands),
        "events": len(engine.state.events),
        "rebalances": len(engine.book.rebalances),
        "us_per_slice": window_s / max(window, 1) * 1e6,
    }


COLUMNS = (
    ("slices", "{:>10,.0f}"),
    ("rss_mib", "{:>9.1f}"),
    ("db_mib", "{:>8.2f}"),
    ("file_mib", "{:>8.2f}"),
    ("journal_rows", "{:>9,.0f}"),
    ("snapshot_kib", "{:>9.1f}"),
    ("ids", "{:>6,.0f}"),
    ("events", "{:>7,.0f}"),
    ("rebalances", "{:>6,.0f}"),
    ("us_per_slice", "{:>8.1f}"),
)
HEADER = "    slices  RSS MiB  DB MiB  (file)  journal  snap KiB    ids  events  rebal  µs/slice"


def row(point: dict[str, float]) -> str:
    return " ".join(fmt.format(point[key]) for key, fmt in COLUMNS)


async def command(run: Running, k: int) -> None:
    kind = "pause" if k % 2 == 0 else "resume"
    body = {"type": kind, "command_id": f"op-{k}", "strategy_id": "trend"}
    run.sup.submit(parse_command(body))  # applied at the next slice boundary


async def bench(args: argparse.Namespace, tmp: Path) -> None:
    fund = settings(tmp)
    recover_at = {n + SNAPSHOT_EVERY // 2 for n in args.recover_at}
    run, _ = await open_fund(fund)
    points, recoveries = [], []
    print(HEADER)
    t_window, window = time.perf_counter(), 0
    market: Slice
    for done, market in enumerate(slices(fund, args.slices), 1):
        if done % args.command_every == 0:
            await command(run, done // args.command_every)
        await run.sup.process(market)
        window += 1
        if done % args.sample == 0:
            points.append(sample(run, done, time.perf_counter() - t_window, window))
            print(row(points[-1]), flush=True)
            t_window, window = time.perf_counter(), 0
        if done in recover_at:
            await kill(run)
            run, took = await open_fund(fund)
            recoveries.append((done, run.sup.replayed, took))
            print(f"  recovered at slice {done:,}: replayed {run.sup.replayed} in {took:.3f} s")
            t_window, window = time.perf_counter(), 0
    await run.sup.snapshot()
    blob = pickle.loads(run.store.latest_snapshot().payload)  # type: ignore[union-attr]
    await kill(run)
    report(points, recoveries, args.warmup, blob)


def report(
    points: list[dict[str, float]],
    recoveries: list[tuple[int, int, float]],
    warmup: int,
    blob: dict[str, Any],
) -> None:
    after = [p for p in points if p["slices"] >= warmup] or points
    first, last = after[0], after[-1]
    for key in ("rss_mib", "db_mib", "file_mib", "journal_rows", "snapshot_kib"):
        low, high = min(p[key] for p in after), max(p[key] for p in after)
        ratio = last[key] / first[key] if first[key] else float("nan")
        print(
            f"{key:>13}: from slice {first['slices']:,.0f} to {last['slices']:,.0f}: "
            f"{first[key]:.2f} -> {last[key]:.2f} (x{ratio:.3f}; range {low:.2f}-{high:.2f})"
        )
    if recoveries:
        base = recoveries[0][2]
        for done, replayed, took in recoveries:
            print(f"recovery at {done:>10,}: {took:.3f} s, {replayed} records (x{took / base:.2f})")
    state = blob["engine"]
    parts = {
        "commands": blob["commands"],
        "events": state.events,
        "rebalances": state.book.rebalances,
        "history": state.history,
        "workers": blob["workers"],
    }
    sizes = ", ".join(
        f"{name} {len(pickle.dumps(part)) / 1024:.1f}" for name, part in parts.items()
    )
    print(f"final snapshot, KiB pickled: {sizes}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=1_000_000)
    parser.add_argument("--command-every", type=int, default=1_000)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--warmup", type=int, default=200_000)
    parser.add_argument(
        "--recover-at",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[10_000, 100_000, 500_000, 999_000],
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    main()
