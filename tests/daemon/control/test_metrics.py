"""The metrics of a real fund: the parsed exposition equals the fund's state, the text passes
`promtool check metrics`, it is what prometheus_client itself would write, and a scrape
changes nothing."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from config import FundSettings, feed_options
from core.book import FundBook
from core.records import RebalanceRecord, RebalanceTrigger, StrategyState
from daemon.control.health import Health
from daemon.control.metrics import FundMetrics, TriggerCounts
from daemon.control.metrics_histogram import LatencyHistogram
from daemon.control.service import CommandService, Reply
from daemon.engine import FundEngine
from daemon.feeds import build_feed
from daemon.feeds.validation import REJECT_REASONS
from tests.support.fund import Fund, demo_config, demo_slices, make_settings, settings_from

NOW = 1_750_000_000.0
BARS = 45
STRATEGIES = 3  # in the demo fund


def now() -> float:
    return NOW


def scrape(metrics: FundMetrics) -> dict[str, Metric]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain;")
    return parse(body)


def parse(body: bytes) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(body.decode())}


def series(families: dict[str, Metric], sample: str, label: str = "strategy") -> dict[str, float]:
    """`label` value -> value of every sample named `sample`."""
    return {
        s.labels[label]: s.value
        for family in families.values()
        for s in family.samples
        if s.name == sample
    }


def value(families: dict[str, Metric], sample: str, **labels: str) -> float:
    found = [
        s.value
        for family in families.values()
        for s in family.samples
        if s.name == sample and s.labels == labels
    ]
    assert len(found) == 1, (sample, labels, found)
    return found[0]


async def at_next_slice(fund: Fund, service: CommandService, market: Any, **fields: Any) -> Reply:
    """Send a command through the service, applied at the boundary before `market`."""
    # gather starts the service first, which queues the command; `process` applies it
    reply, _ = await asyncio.gather(service.execute(json.dumps(fields)), fund.sup.process(market))
    return reply


def promtool(body: bytes) -> tuple[int, str]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool not found: install the Debian package prometheus")
    done = subprocess.run(
        [tool, "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )
    return done.returncode, (done.stdout + done.stderr).decode()


async def run_demo(settings: FundSettings, fund: Fund, metrics: FundMetrics) -> list[Reply]:
    """Stream the demo feed through the fund; a rejected command, then an applied one."""
    service = CommandService(fund.sup, "demo")
    metrics.service = service
    replies = []
    kind, options = feed_options(settings)
    async with build_feed(kind, **options) as feed:
        metrics.feed_stats = feed.stats  # the daemon builds its feed after the supervisor
        async for market in feed:
            index = fund.sup._engine.state.slice_index
            if index == 10:
                fields = {"type": "pause", "command_id": "p1", "strategy_id": "ghost"}
                replies.append(await at_next_slice(fund, service, market, **fields))
            elif index == 20:
                fields = {"type": "pause", "command_id": "p2", "strategy_id": "trend"}
                replies.append(await at_next_slice(fund, service, market, **fields))
            else:
                await fund.sup.process(market)
    return replies


async def test_the_exposition_equals_the_fund_state(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, bars=BARS)
    async with Fund(settings, tmp_path / "state") as fund:
        metrics = FundMetrics(fund.sup, clock=now)
        replies = await run_demo(settings, fund, metrics)
        await fund.sup.snapshot()
        families = scrape(metrics)
        engine = fund.sup._engine
        ledgers = {sid: await w.ledger_state() for sid, w in engine.workers.items()}
        journal_bytes, snapshot_age = fund.store.journal_size_bytes(), fund.store.snapshot_age()
    assert [r.status for r in replies] == ["rejected", "applied"]
    assert engine.book.records["trend"].state is StrategyState.PAUSED
    check_values(families, engine.book)
    check_states(families, engine.book)
    check_counters(families, engine, ledgers)
    check_clock_feed_and_store(families, engine.book)
    assert value(families, "paperfund_journal_size_bytes") == journal_bytes > 0
    assert value(families, "paperfund_snapshot_age_records") == snapshot_age
    written = fund.sup.last_snapshot_unix
    assert written is not None
    assert value(families, "paperfund_last_snapshot_timestamp_seconds") == written
    processed = fund.sup.last_slice_unix
    assert processed is not None
    assert value(families, "paperfund_last_slice_processed_timestamp_seconds") == processed
    quarantined = series(families, "paperfund_strategy_quarantined")
    assert set(quarantined.values()) == {0.0}  # trend is paused by an operator, not the fund


def check_values(families: dict[str, Metric], book: FundBook) -> None:
    records = book.records
    assert value(families, "paperfund_fund_value") == float(book.fund_value)
    assert value(families, "paperfund_reserve_value") == float(book.reserve.portfolio_value)
    values = series(families, "paperfund_strategy_value")
    assert values == {sid: float(rec.value) for sid, rec in records.items()}
    cash = series(families, "paperfund_strategy_cash")
    assert cash == {sid: float(rec.cash) for sid, rec in records.items()}
    weights = series(families, "paperfund_strategy_weight_ratio")
    reserve_share = float(book.reserve.portfolio_value) / float(book.fund_value)
    assert sum(weights.values()) + reserve_share == pytest.approx(1.0, abs=1e-12)
    drawdowns = series(families, "paperfund_strategy_max_drawdown_ratio")
    assert drawdowns == {sid: rec.performance.max_drawdown for sid, rec in records.items()}


def check_states(families: dict[str, Metric], book: FundBook) -> None:
    """One-hot: every state has a sample, exactly one is 1, the one the strategy is in."""
    states = {s.value for s in StrategyState}
    for sid, rec in book.records.items():
        one_hot = {
            s.labels["state"]: s.value
            for s in families["paperfund_strategy_state"].samples
            if s.labels["strategy"] == sid
        }
        assert set(one_hot) == states
        assert [state for state, v in one_hot.items() if v == 1.0] == [rec.state.value]
        assert sum(one_hot.values()) == 1.0


def check_counters(
    families: dict[str, Metric], engine: FundEngine, ledgers: dict[str, dict[str, Any]]
) -> None:
    assert value(families, "paperfund_slices_processed_total") == engine.state.slice_index == BARS
    assert value(families, "paperfund_slice_duration_seconds_count") == BARS
    assert value(families, "paperfund_slice_duration_seconds_bucket", le="+Inf") == BARS
    assert value(families, "paperfund_step_duration_seconds_count") == BARS * STRATEGIES
    assert value(families, "paperfund_commands_total", type="pause", outcome="rejected") == 1
    assert value(families, "paperfund_commands_total", type="pause", outcome="applied") == 1
    # every order a ledger ever numbered was placed during a live step of this process
    orders = series(families, "paperfund_strategy_orders_total")
    assert orders == {sid: state["next_order_id"] - 1 for sid, state in ledgers.items()}
    fills = series(families, "paperfund_strategy_fills_total")
    assert value(families, "paperfund_orders_total") == sum(orders.values()) > 0
    assert value(families, "paperfund_fills_total") == sum(fills.values()) > 0
    triggers = series(families, "paperfund_rebalances_total", label="trigger")
    calendar = len(engine.book.rebalances) - 1
    assert triggers == {"initial": 1, "calendar": calendar, "drift": 0, "manual": 0}
    assert {r.reason for r in engine.book.rebalances} == {
        "Initial rebalancing",
        "Monthly rebalancing",
    }


def check_clock_feed_and_store(families: dict[str, Metric], book: FundBook) -> None:
    last = book.current_timestamp
    assert last is not None
    assert value(families, "paperfund_last_slice_timestamp_seconds") == last.timestamp()
    assert value(families, "paperfund_feed_lag_seconds") == NOW - last.timestamp()
    assert value(families, "paperfund_feed_bars_total") == BARS * 5  # five demo symbols
    rejected = series(families, "paperfund_feed_bars_rejected_total", label="reason")
    assert rejected == dict.fromkeys(REJECT_REASONS, 0.0)


@pytest.mark.system
async def test_promtool_accepts_the_exposition(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, bars=30)
    async with Fund(settings, tmp_path / "state") as fund:
        health = Health(fund.sup, fund.store, max_bar_age_s=60.0)
        metrics = FundMetrics(fund.sup, health=health, redis_connected=lambda: True, clock=now)
        await run_demo(settings, fund, metrics)
        body, _ = metrics.render()
    for family in ("paperfund_ready", "paperfund_redis_connected", "paperfund_commands_total"):
        assert f"\n{family}".encode() in body  # every optional family is checked too
    returncode, output = promtool(body)
    assert (returncode, output) == (0, "")


@pytest.mark.system
def test_promtool_does_find_problems() -> None:
    """The check above is not vacuous: a counter without `_total` is reported."""
    returncode, output = promtool(b"# HELP bad_count A.\n# TYPE bad_count counter\nbad_count 1\n")
    assert returncode != 0 and "_total" in output


async def test_render_writes_what_prometheus_client_writes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, bars=30)
    odd = 'odd "id" \\ with\na newline'
    async with Fund(settings, tmp_path / "state") as fund:
        metrics = FundMetrics(fund.sup, clock=now)
        added = await fund.send(
            type="add", command_id="a1", strategy_id=odd, catalog="slow_trend", allocation="0.05"
        )
        assert added.status == "applied"
        await run_demo(settings, fund, metrics)
        body, _ = metrics.render()
        assert body == generate_latest(metrics.registry)
    assert odd in series(parse(body), "paperfund_strategy_value")


async def test_scraping_changes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, bars=30)
    async with Fund(settings, tmp_path / "state") as fund:
        health = Health(fund.sup, fund.store)
        metrics = FundMetrics(fund.sup, health=health, clock=now)
        await run_demo(settings, fund, metrics)
        before, seq = await fund.digest(), fund.store.last_seq
        first = metrics.render()
        generate_latest(metrics.registry)
        assert metrics.render() == first
        assert await fund.digest() == before
        assert fund.store.last_seq == seq


async def test_replayed_slices_are_not_counted_again(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, bars=30)
    slices = await demo_slices(settings)
    fund = Fund(settings, tmp_path / "state")
    metrics = FundMetrics(fund.sup, clock=now)  # before start: only the daemon's state
    assert value(scrape(metrics), "paperfund_recovering") == 1
    async with fund:
        for market in slices[:20]:
            await fund.sup.process(market)
    restarted = Fund(settings, tmp_path / "state")
    metrics = FundMetrics(restarted.sup, clock=now)
    async with restarted:
        families = scrape(metrics)
        assert value(families, "paperfund_recovering") == 0
        assert value(families, "paperfund_slices_processed_total") == 20  # the fund's life
        assert value(families, "paperfund_slice_duration_seconds_count") == 0
        # the journal's last slice may not have completed before the restart: recovery steps
        # it again live (with its deadline), the others are replays and are not observed
        assert value(families, "paperfund_step_duration_seconds_count") == STRATEGIES
        for market in slices[20:25]:
            await restarted.sup.process(market)
        families = scrape(metrics)
    assert value(families, "paperfund_slice_duration_seconds_count") == 5
    assert value(families, "paperfund_step_duration_seconds_count") == STRATEGIES * 6


async def test_the_last_snapshot_time_is_exported_from_the_start(tmp_path: Path) -> None:
    """Until the first snapshot (`snapshot_every` slices away) it is the daemon's start."""
    settings = make_settings(tmp_path, bars=30)
    slices = await demo_slices(settings)
    snapshot_time = "paperfund_last_snapshot_timestamp_seconds"
    fund = Fund(settings, tmp_path / "state")
    metrics = FundMetrics(fund.sup, clock=now)
    assert value(scrape(metrics), snapshot_time) == NOW  # before recovery
    async with fund:
        for market in slices[:20]:
            await fund.sup.process(market)
        assert fund.store.latest_snapshot() is None
        assert value(scrape(metrics), snapshot_time) == NOW
        await fund.sup.snapshot()
        written = fund.sup.last_snapshot_unix
        assert written is not None and written != NOW
        assert value(scrape(metrics), snapshot_time) == written
    restarted = Fund(settings, tmp_path / "state")
    metrics = FundMetrics(restarted.sup, clock=lambda: NOW + 60)
    async with restarted:
        loaded = restarted.store.latest_snapshot()
        assert loaded is not None
        assert value(scrape(metrics), snapshot_time) == loaded.created_unix


async def test_removing_a_strategy_keeps_the_fund_counters(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, bars=30)
    async with Fund(settings, tmp_path / "state") as fund:
        metrics = FundMetrics(fund.sup, clock=now)
        await run_demo(settings, fund, metrics)
        before = scrape(metrics)
        removed = await fund.send(type="remove", command_id="r1", strategy_id="momentum")
        assert removed.status == "applied"
        after = scrape(metrics)
    assert "momentum" in series(before, "paperfund_strategy_orders_total")
    assert "momentum" not in series(after, "paperfund_strategy_orders_total")
    for total in ("paperfund_orders_total", "paperfund_fills_total"):
        assert value(after, total) == value(before, total) > 0


async def test_a_step_past_its_deadline_counts_as_a_timeout(tmp_path: Path) -> None:
    data = demo_config(deadlines={"step_timeout_s": 0.5})
    data["feed"]["bars"] = 4
    data["catalog"]["sleepy"] = {
        "class": "tests.workers.sample_strategies:Sleeping",
        "params": {"on_bar": 2, "sleep_s": 60, "symbol": "AAA"},  # killed at the deadline
        "worker": "process",
    }
    settings = settings_from(data, tmp_path / "fund.yaml")
    slices = await demo_slices(settings)
    async with Fund(settings, tmp_path / "state") as fund:
        metrics = FundMetrics(fund.sup, clock=now)
        added = await fund.send(
            type="add", command_id="a1", strategy_id="sleepy", catalog="sleepy", allocation="0.05"
        )
        assert added.status == "applied"
        for market in slices:
            await fund.sup.process(market)
        families = scrape(metrics)
    assert series(families, "paperfund_strategy_timeouts_total")["sleepy"] == 1
    assert series(families, "paperfund_strategy_errors_total")["sleepy"] == 1
    assert series(families, "paperfund_strategy_orders_total")["sleepy"] == 1  # its first bar
    assert value(families, "paperfund_strategy_state", strategy="sleepy", state="paused") == 1
    timeouts = series(families, "paperfund_strategy_timeouts_total")
    assert {sid: n for sid, n in timeouts.items() if n} == {"sleepy": 1}
    quarantined = series(families, "paperfund_strategy_quarantined")
    assert {sid: n for sid, n in quarantined.items() if n} == {"sleepy": 1}


# ---- the parts ---------------------------------------------------------------------------
def test_a_value_on_a_bound_counts_in_that_bucket() -> None:
    histogram = LatencyHistogram((0.1, 1.0))
    histogram.observe(0.1)
    histogram.observe_all([0.05, 1.0, 7.5])
    assert histogram.buckets() == [("0.1", 2.0), ("1.0", 3.0), ("+Inf", 4.0)]
    assert histogram.count == 4
    assert histogram.sum_s == pytest.approx(8.65)


@pytest.mark.parametrize("bounds", [(), (0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (1.0, float("inf"))])
def test_histogram_bounds_must_be_positive_and_increase(bounds: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="bounds"):
        LatencyHistogram(bounds)


def rebalance(reason: str, trigger: RebalanceTrigger) -> RebalanceRecord:
    ts = datetime(2024, 1, 2, tzinfo=UTC)
    zero, one = Decimal(0), Decimal(1)
    return RebalanceRecord(ts, reason, {}, {}, {}, {}, zero, one, one, trigger)


def test_triggers_count_the_closed_set_whatever_the_reasons() -> None:
    counts = TriggerCounts()
    assert counts.update([]) == {"initial": 0, "calendar": 0, "drift": 0, "manual": 0}
    records = [
        rebalance("Initial rebalancing", RebalanceTrigger.INITIAL),
        rebalance("Allocation drift (5.2% > 5.0%)", RebalanceTrigger.DRIFT),
    ]
    assert counts.update(records) == {"initial": 1, "calendar": 0, "drift": 1, "manual": 0}
    # a caller's reason is free text, even when it reads like a scheduled one
    records += [rebalance(f"note {i}", RebalanceTrigger.MANUAL) for i in range(50)]
    records += [rebalance("Initial rebalancing", RebalanceTrigger.MANUAL)]
    assert counts.update(records) == {"initial": 1, "calendar": 0, "drift": 1, "manual": 51}
    recounted = counts.update(records[:1])  # a new book: recounted
    assert recounted == {"initial": 1, "calendar": 0, "drift": 0, "manual": 0}
