"""Statistics kept in the shards read exactly as the book's own, for everything that reads
them: the scheduled rebalances' algorithm (risk parity reads the returns), the `rebalance`
command's, the views, the metrics and the digest, with either `workers.statistics`
setting; and a fund that changes its strategies between in-process and shard hosting, or
changes the setting, across a restart ends exactly as one that did not."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

from config.settings import FundSettings
from core.market import Slice
from core.performance_copy import PerformanceCopy
from daemon.control.metrics import FundMetrics
from daemon.control.metrics_strategies import strategy_families
from daemon.control.views import fund_status, strategies_view
from daemon.shard_statistics import refresh_for_reading
from tests.support.control_plane import control
from tests.support.fund import Fund, demo_slices, hosted_settings

BARS = 130


def _settings(tmp_path: Path, mode: str) -> FundSettings:
    """`mode`: a worker kind; `shard-supervisor`: in shards, statistics updated by the book."""
    worker, _, statistics = mode.partition("-")
    return hosted_settings(tmp_path, BARS, worker, statistics=statistics or "shards")


@pytest.fixture
async def slices(tmp_path: Path) -> list[Slice]:
    return await demo_slices(_settings(tmp_path, "inprocess"))


async def _commands(fund: Fund, index: int) -> None:
    """Commands between slices: a strategy added, paused and resumed, a `rebalance` by the
    configured algorithm, a strategy removed."""
    if index == 45:
        await fund.send(
            type="add", command_id="a", strategy_id="slow", catalog="slow_trend", allocation=0.05
        )
    elif index == 50:
        await fund.send(type="pause", command_id="p", strategy_id="momentum", reason="test")
    elif index == 70:
        await fund.send(type="resume", command_id="r", strategy_id="momentum")
    elif index == 80:
        await fund.send(type="rebalance", command_id="b", algorithm="configured")
    elif index == 110:
        await fund.send(type="remove", command_id="x", strategy_id="trend", liquidate=True)


async def _run(fund: Fund, slices: list[Slice], start: int = 0) -> None:
    for index, market in enumerate(slices[start:], start):
        await _commands(fund, index)
        await fund.sup.process(market)


def _reads(fund: Fund) -> dict[str, Any]:
    engine = fund.sup._engine
    families = {f.name: (f.keys, f.values) for f in strategy_families(engine)}
    history = engine.state.history
    return {
        "status": fund_status("demo", engine),
        "strategies": strategies_view(engine),
        "metrics": families,
        "history": (history.ts, history.fund_value, history.reserve_value, _out(history.values)),
        "targets": (history.strategy_ids, _out(history.targets)),
    }


def _out(columns: dict[str, list[float]]) -> dict[str, list[float | None]]:
    """None where the strategy was out of the fund (NaN equals nothing, not even NaN)."""
    return {sid: [None if math.isnan(v) else v for v in column] for sid, column in columns.items()}


async def test_shards_read_their_statistics_as_the_book_does(
    tmp_path: Path, slices: list[Slice]
) -> None:
    results = {}
    for mode in ("inprocess", "shard", "shard-supervisor"):
        async with Fund(_settings(tmp_path, mode), tmp_path / mode) as fund:
            await _run(fund, slices)
            await refresh_for_reading(fund.sup.engine)
            book = fund.sup._engine.book
            copies = [isinstance(r.performance, PerformanceCopy) for r in book.records.values()]
            assert all(copies) if mode == "shard" else not any(copies)
            shards = {getattr(w, "shard", None) for w in fund.sup._engine.workers.values()}
            bases = {shard.base() is not None for shard in shards if shard is not None}
            assert bases == ({True} if mode == "shard" else {False} if "shard" in mode else set())
            targets = {sid: float(r.target_weight) for sid, r in book.records.items()}
            results[mode] = (await fund.digest(), _reads(fund), list(book.rebalances), targets)
    inprocess, shard = results["inprocess"], results["shard"]
    assert results["shard-supervisor"][:2] == inprocess[:2]
    rebalances = inprocess[2]
    assert len(rebalances) >= 4  # the initial one, monthly ones and the command's
    assert any(r.reason == "Manual rebalancing" for r in rebalances)
    assert len({tuple(r.targets.values()) for r in rebalances}) > 2  # from the statistics
    assert shard[1] == inprocess[1]
    assert shard[0] == inprocess[0]
    ids, targets = inprocess[1]["targets"]  # the charts' targets follow the book's
    assert "slow" in ids and targets["trend"][-1] is None
    assert len(set(targets["momentum"])) > 2
    assert {sid: column[-1] for sid, column in targets.items() if sid != "trend"} == inprocess[3]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("shard", "inprocess"),
        ("inprocess", "shard"),
        ("shard", "shard"),
        ("shard", "shard-supervisor"),
        ("shard-supervisor", "shard"),
    ],
)
async def test_a_fund_can_change_its_hosting_across_a_restart(
    tmp_path: Path, slices: list[Slice], before: str, after: str
) -> None:
    async with Fund(_settings(tmp_path, after), tmp_path / "straight") as fund:
        await _run(fund, slices)
        expected = await fund.digest()
    state = tmp_path / "changed"
    async with Fund(_settings(tmp_path, before), state) as fund:
        await _run(fund, slices[:75])
        await fund.sup.snapshot()
        await _run(fund, slices[:90], start=75)  # on the journal only: replayed by the restart
    async with Fund(_settings(tmp_path, after), state) as fund:
        assert fund.sup.slice_index == 90
        await _run(fund, slices, start=90)
        assert await fund.digest() == expected


async def test_the_book_reads_a_sharded_fund_as_the_shards_last_sent_it(
    tmp_path: Path, slices: list[Slice]
) -> None:
    """Between refreshes the copies stand still; a refresh brings every observation, and
    refreshes at once (a view's beside a rebalance's) take turns: each continues the copy
    from where the last one left it."""
    async with Fund(_settings(tmp_path, "inprocess"), tmp_path / "alone") as fund:
        await _run(fund, slices[:64])  # the last rebalance (it loads) is at slice 59
        expected = _reads(fund)
    async with Fund(_settings(tmp_path, "shard"), tmp_path / "state") as fund:
        await _run(fund, slices[:40])
        engine = fund.sup._engine
        stale = engine.book.records["trend"].performance.num_observations
        await fund.sup.process(slices[40])
        assert engine.book.records["trend"].performance.num_observations == stale < 41
        await refresh_for_reading(engine)
        assert engine.book.records["trend"].performance.num_observations == 1 + 41
        await _run(fund, slices[:64], start=41)
        await asyncio.gather(
            refresh_for_reading(engine), engine.refresh_statistics(), refresh_for_reading(engine)
        )
        assert _reads(fund) == expected


async def test_the_http_views_and_metrics_show_a_sharded_fund_as_of_its_last_slice(
    tmp_path: Path,
) -> None:
    """Every reader over HTTP refreshes first: a strategy's view, the list, the status
    command's reply and the metrics all count every slice stepped so far."""
    scraped: list[FundMetrics] = []

    def exposition() -> tuple[bytes, str]:
        return scraped[0].render()

    async with control(tmp_path, worker="shard", metrics=exposition) as c:
        scraped.append(FundMetrics(c.fund.sup))
        for released in range(1, 5):
            await c.feed.release(c.slices[released - 1])
            observed = 1 + released  # the admission's observation, then one per slice
            _, trend = await c.get("/v1/strategies/trend")
            assert trend["metrics"]["num_observations"] == observed
            _, listed = await c.get("/v1/strategies")
            assert {s["metrics"]["num_observations"] for s in listed} == {observed}
        perf = c.fund.sup._engine.book.records["trend"].performance
        perf.num_observations = 0  # as if never refreshed: each reader below refreshes
        async with c.client.get("/metrics") as response:
            text = await response.text()
        assert perf.num_observations == observed
        assert 'paperfund_strategy_sharpe_ratio{strategy="trend"}' in text
        perf.num_observations = 0
        status, body = await c.post({"type": "status", "command_id": "s1"})
        assert status == 200 and body["reply"]["status"] == "applied"
        assert perf.num_observations == observed


async def test_an_algorithm_that_reads_no_statistics_loads_none(
    tmp_path: Path, slices: list[Slice]
) -> None:
    """A fixed allocation's rebalances (`reads_statistics` False) do not load the copies;
    the fund still ends as in-process."""
    digests = []
    for mode in ("inprocess", "shard"):
        settings = hosted_settings(tmp_path, BARS, mode, algorithm={"name": "fixed"})
        async with Fund(settings, tmp_path / mode) as fund:
            for market in slices[:70]:
                await fund.sup.process(market)
            book = fund.sup._engine.book
            assert [r.reason for r in book.rebalances][:3] == [
                "Initial rebalancing",
                "Monthly rebalancing",
                "Monthly rebalancing",
            ]
            observed = {r.performance.num_observations for r in book.records.values()}
            assert observed == ({1} if mode == "shard" else {71})  # admission only: not loaded
            digests.append(await fund.digest())
    assert digests[0] == digests[1]
