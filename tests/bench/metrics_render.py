"""Metrics scrape time: `FundMetrics.render()` over a fund of 1000 strategies (target 50 ms),
against prometheus_client's `generate_latest` rendering as many plain labelled gauges in the
same run; then the cost of one latency observation on the hot path.

    .venv/bin/python -m tests.bench.metrics_render [--strategies 1000]

The fund is built directly (book, records, performance histories of a year of daily returns,
counters, rebalances, feed and command counters) rather than by running 1000 workers.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from core.book import FundBook
from core.ledger import Ledger
from core.records import RebalanceRecord, StrategyState
from daemon.control.metrics import FundMetrics
from daemon.control.metrics_histogram import STEP_BUCKETS_S, LatencyHistogram
from daemon.control.service import CommandService
from daemon.engine import EngineState, FundEngine, Worker
from daemon.feeds.base import FeedStats
from daemon.persistence import StateStore
from daemon.startup import FundPlan
from daemon.supervisor import Supervisor

TARGET_MS = 50.0
CAPITAL = Decimal(1_000_000)
CENT = Decimal("0.01")
START = datetime(2020, 1, 1, tzinfo=UTC)


def build_book(n: int, days: int, rng: random.Random) -> FundBook:
    reserve = Ledger()
    reserve.transfer_in(CAPITAL * n)
    book = FundBook(reserve)
    share = (Decimal("0.95") / n).quantize(Decimal("0.000001"))
    states = list(StrategyState)
    for i in range(n):
        amount = (CAPITAL * Decimal("0.95")).quantize(CENT)
        reserve.transfer_out(amount)
        rec = book.admit(f"strategy-{i:04d}", share, amount)
        value = float(amount)
        drift, vol = rng.uniform(-2e-4, 6e-4), rng.uniform(0.005, 0.03)
        for day in range(days):
            value *= 1 + rng.gauss(drift, vol)
            rec.performance.update(START + timedelta(days=day), Decimal(value).quantize(CENT))
        rec.value = Decimal(value).quantize(CENT)
        rec.cash = (rec.value * Decimal(rng.uniform(0.1, 0.6))).quantize(CENT)
        rec.error_count = rng.randrange(3)
        if i % 20 == 0:
            rec.state = states[i // 20 % len(states)]
    book.current_timestamp = START + timedelta(days=days)
    for month in range(days // 21):
        reason = "Initial rebalancing" if month == 0 else "Monthly rebalancing"
        ts = START + timedelta(days=21 * month)
        book.rebalances.append(RebalanceRecord(ts, reason, {}, {}, {}, {}, CENT, CAPITAL, CAPITAL))
    return book


def build_engine(n: int, days: int, seed: int = 1) -> FundEngine:
    rng = random.Random(seed)
    engine = FundEngine(EngineState(book=build_book(n, days, rng), rebalancer=None), {})
    engine.state.slice_index = days
    for sid in engine.book.records:
        counts = engine.activity[sid]
        counts.orders = rng.randrange(500)
        counts.fills = counts.orders - rng.randrange(min(counts.orders, 20) + 1)
    return engine


def best_ms(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def baseline_registry(n: int, samples: int) -> CollectorRegistry:
    """Plain prometheus_client gauges labelled by strategy: `samples` values in all."""
    registry = CollectorRegistry()
    for k in range(-(-samples // n)):
        metric = Gauge(f"paperfund_baseline_{k}", "A plain gauge.", ["strategy"], registry=registry)
        for i in range(min(n, samples - k * n)):
            metric.labels(f"strategy-{i:04d}").set(1234.5 + i)
    return registry


def no_workers(sid: str, catalog: str) -> Worker:
    raise AssertionError("the benchmark's fund is built without workers")


def fund_metrics(engine: FundEngine, store: StateStore, rng: random.Random) -> FundMetrics:
    plan = FundPlan("bench", CAPITAL, (), Ledger, lambda: None)
    supervisor = Supervisor(plan, store, no_workers)
    supervisor.engine, supervisor.recovering = engine, False
    service = CommandService(supervisor, "bench")
    for kind in ("pause", "resume", "rebalance"):
        service.outcomes[(kind, "applied")] = rng.randrange(50)
        service.outcomes[(kind, "rejected")] = rng.randrange(5)
    stats = FeedStats(slices=252, bars=252 * 5)
    metrics = FundMetrics(supervisor, feed_stats=stats, service=service, clock=lambda: 1.7e9)
    for _ in range(10_000):
        metrics.slice_seconds.observe(rng.lognormvariate(-7, 1))
    metrics.step_seconds.observe_all([rng.lognormvariate(-10, 1) for _ in range(100_000)])
    return metrics


def observe_cost_ns() -> tuple[float, float]:
    """ns per observation: `observe_all` of a slice of 100 steps, and one `observe` call."""
    histogram = LatencyHistogram(STEP_BUCKETS_S)
    rng = random.Random(3)
    steps = [rng.lognormvariate(-10, 1) for _ in range(100)]

    def batches() -> None:
        for _ in range(1000):
            histogram.observe_all(steps)

    def singles() -> None:
        observe = histogram.observe
        for _ in range(1000):
            for seconds in steps:
                observe(seconds)

    return best_ms(batches, 5) * 1e6 / 100_000, best_ms(singles, 5) * 1e6 / 100_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategies", type=int, default=1000)
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    engine = build_engine(args.strategies, args.days)
    with tempfile.TemporaryDirectory() as tmp, StateStore.open(Path(tmp), "off") as store:
        metrics = fund_metrics(engine, store, random.Random(2))
        body, _ = metrics.render()
        assert body == generate_latest(metrics.registry)
        samples = sum(1 for line in body.splitlines() if not line.startswith(b"#"))
        ours = best_ms(metrics.render, args.repeat)
        registry_path = best_ms(lambda: generate_latest(metrics.registry), args.repeat)
        baseline = baseline_registry(args.strategies, samples)
        plain = best_ms(lambda: generate_latest(baseline), args.repeat)
    print(f"{args.strategies} strategies: {samples:,} samples, {len(body) / 1024:,.0f} KiB")
    verdict = "ok" if ours < TARGET_MS else "OVER TARGET"
    print(
        f"render():                          {ours:7.1f} ms  (target {TARGET_MS:.0f} ms: {verdict})"
    )
    print(f"generate_latest(metrics.registry): {registry_path:7.1f} ms  (same bytes)")
    print(f"generate_latest, {samples:,} plain gauges: {plain:7.1f} ms  (baseline)")
    print(f"ratio render / baseline: {ours / plain:.2f}")
    batch_ns, single_ns = observe_cost_ns()
    print(f"latency observation: {batch_ns:.0f} ns in a batch (steps), {single_ns:.0f} ns alone")


if __name__ == "__main__":
    main()
