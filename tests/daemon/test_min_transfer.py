"""min_transfer_pct in the daemon: the rebalances it computes (scheduled, or a command asking
for the configured algorithm) skip transfers below that fraction of the fund's value, and
/v1/rebalances lists them; explicit weights from an operator are applied exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import load_settings
from core.records import RebalanceTrigger
from daemon.report import _weight_changes
from tests.support.fund import ROOT, Fund, demo_slices
from tests.support.small_fund import get_json, price_slices, served, small_fund_settings

D = Decimal
IDLE = "tests.workers.sample_strategies:Idle"


def two_idle(worker: str) -> list[dict[str, Any]]:
    return [
        {"id": "a", "class": IDLE, "allocation": 0.5, "worker": worker},
        {"id": "b", "class": IDLE, "allocation": 0.4, "worker": worker},
    ]


@pytest.mark.parametrize("worker", ["inprocess", "process"])
async def test_transfers_below_the_threshold_are_skipped_and_listed(
    tmp_path: Path, worker: str
) -> None:
    settings = small_fund_settings(
        tmp_path,
        two_idle(worker),
        capital=1_000_000,
        algorithm={"name": "fixed", "params": {"allocations": {"a": 0.502, "b": 0.35}}},
        rebalancer={"frequency": "daily", "min_transfer_pct": 0.005},
    )
    slices = price_slices(["10", "10", "10", "10"])
    async with Fund(settings, tmp_path / "state") as fund:
        await fund.sup.process(slices[0])  # the initial rebalance
        await fund.sup.process(slices[1])  # the daily one: a is still 2,000 short
        configured = {"type": "rebalance", "command_id": "c1", "algorithm": "configured"}
        assert (await fund.send(**configured)).status == "applied"
        await fund.sup.process(slices[2])
        book = fund.sup._engine.book
        assert book.records["a"].value == D(500_000)  # never topped up by 2,000
        assert book.records["b"].value == D(350_000)
        assert book.reserve.cash == D(150_000)
        assert book.fund_value == D(1_000_000)

        explicit = {"type": "rebalance", "command_id": "w1", "weights": {"a": "0.502"}}
        assert (await fund.send(**explicit)).status == "applied"
        assert book.records["a"].value == D(502_000)  # an operator's weights are exact

        first = book.rebalances[0]
        assert _weight_changes(first) == [
            "a 50.00% -> 50.00% (skipped +2,000.00: below min_transfer_pct)",
            "b 40.00% -> 35.00% (-50,000.00)",
        ]
        async with served(fund) as client:
            rebalances = await get_json(client, "/v1/rebalances")
    triggers = ["initial", "calendar", "manual", "calendar", "manual"]
    assert [r["trigger"] for r in rebalances] == triggers
    assert [r["skipped"] for r in rebalances] == [{"a": "2000.00"}] * 4 + [{}]
    assert [r["transfers"] for r in rebalances] == [
        {"b": "-50000.00"},
        {},
        {},
        {},
        {"a": "2000.00"},
    ]


async def test_the_replay_example_threshold_takes_effect(tmp_path: Path) -> None:
    """config/examples/replay-daily.yaml (min_transfer_pct 0.005) over its first year."""
    data = yaml.safe_load((ROOT / "config/examples/replay-daily.yaml").read_text())
    data["feed"]["paths"] = {s: str(ROOT / p) for s, p in data["feed"]["paths"].items()}
    data["feed"]["end"] = "2000-12-31"
    for strategy in data["strategies"]:
        strategy["worker"] = "inprocess"
    path = tmp_path / "replay.yaml"
    path.write_text(yaml.safe_dump(data))
    settings = load_settings(path, env={})
    assert settings.allocation.rebalancer is not None
    assert settings.allocation.rebalancer.min_transfer_pct == D("0.005")
    async with Fund(settings, tmp_path / "state") as fund:
        for market in await demo_slices(settings):
            await fund.sup.process(market)
        records = fund.sup._engine.book.rebalances
        assert len(records) > 1
        assert {r.trigger for r in records} >= {RebalanceTrigger.INITIAL}
        for record in records:
            floor = D("0.005") * record.fund_value_before
            planned = {sid for sid, w in record.targets.items() if w > 0}
            for sid, moved in record.transfers.items():
                assert sid not in planned or abs(moved) >= floor, (record.ts, sid, moved)
            for sid, amount in record.skipped.items():
                assert 0 < abs(amount) < floor, (record.ts, sid, amount)
        assert any(record.skipped for record in records)
