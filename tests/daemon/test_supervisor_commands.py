"""Commands through the supervisor's entry point: applied between slices, recorded with the
slice index, rejected with a reason and no change, de-duplicated, and replayed exactly by
recovery from the journal."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import FundSettings, feed_options, load_settings
from core.market import Bar, Slice
from core.records import StrategyState
from daemon.commands import parse_command
from daemon.errors import RecoveryError
from daemon.feeds import build_feed
from daemon.supervisor import Outcome
from tests.support.fund import ROOT, Fund, demo_slices, make_settings

SLICES = 80


@pytest.fixture
def settings(tmp_path: Path) -> FundSettings:
    broken = {"class": "tests.workers.sample_strategies:FailingInit"}
    return make_settings(tmp_path, SLICES, broken=broken)


Script = dict[int, list[dict[str, Any]]]  # slice index -> commands sent before it

SCRIPT: Script = {
    5: [{"type": "pause", "command_id": "p1", "strategy_id": "trend", "reason": "review"}],
    12: [{"type": "resume", "command_id": "r1", "strategy_id": "trend"}],
    20: [{"type": "rebalance", "command_id": "w1", "weights": {"trend": "0.2"}}],
    30: [
        {
            "type": "add",
            "command_id": "a1",
            "strategy_id": "slow",
            "catalog": "slow_trend",
            "allocation": "0.05",
        }
    ],
    40: [{"type": "rebalance", "command_id": "c1", "algorithm": "configured"}],
    50: [{"type": "remove", "command_id": "x1", "strategy_id": "momentum", "liquidate": False}],
    60: [{"type": "remove", "command_id": "x2", "strategy_id": "slow"}],
}


async def drive(
    fund: Fund, slices: list[Slice], script: Script, seen: Callable[[Outcome], None]
) -> None:
    for index, market in enumerate(slices):
        for command in script.get(index, []):
            seen(await fund.send(**command))
        await fund.sup.process(market)


async def test_every_command_applies_between_slices_and_is_recorded(
    settings: FundSettings, tmp_path: Path
) -> None:
    slices = await demo_slices(settings)
    outcomes: list[Outcome] = []
    reserve_positions: dict[str, int] = {}
    async with Fund(settings, tmp_path / "state") as fund:

        def seen(outcome: Outcome) -> None:
            outcomes.append(outcome)
            reserve_positions[outcome.command_id] = len(fund.sup._engine.book.reserve.positions)

        await drive(fund, slices, SCRIPT, seen)
        engine = fund.sup._engine
        book = engine.book
        assert [(o.command_id, o.status, o.slice_index) for o in outcomes] == [
            ("p1", "applied", 5),
            ("r1", "applied", 12),
            ("w1", "applied", 20),
            ("a1", "applied", 30),
            ("c1", "applied", 40),
            ("x1", "applied", 50),
            ("x2", "applied", 60),
        ]
        kinds = [(e.slice_index, e.kind, e.strategy_id) for e in engine.state.events]
        for expected in [
            (5, "pause", "trend"),
            (12, "resume", "trend"),
            (30, "add", "slow"),
            (50, "remove", "momentum"),
            (60, "remove", "slow"),
        ]:
            assert expected in kinds
        assert set(book.records) == {"trend", "mean_reversion"}
        reasons = [r.reason for r in book.rebalances]
        assert "Manual rebalancing" in reasons
        assert reserve_positions["c1"] == 0
        assert reserve_positions["x1"] > 0  # momentum's positions moved to the reserve unsold


async def test_recovery_replays_the_commands_exactly(
    settings: FundSettings, tmp_path: Path
) -> None:
    slices = await demo_slices(settings)
    async with Fund(settings, tmp_path / "live") as live:
        await drive(live, slices, SCRIPT, lambda o: None)
        expected = await live.digest()
    # a kill before any snapshot: the restart re-runs the journal (slices and commands)
    async with Fund(settings, tmp_path / "live") as restarted:
        assert restarted.sup.replayed == len(slices) + sum(len(c) for c in SCRIPT.values())
        assert await restarted.digest() == expected
        assert set(restarted.sup._engine.book.records) == {"trend", "mean_reversion"}


BAD: list[tuple[dict[str, Any], str]] = [
    ({"type": "pause", "command_id": "b1", "strategy_id": "ghost"}, "ghost"),
    ({"type": "resume", "command_id": "b2", "strategy_id": "trend"}, "trend"),
    (
        {"type": "rebalance", "command_id": "b3", "weights": {"trend": "0.6", "momentum": "0.5"}},
        "must be <= 100%",
    ),
    ({"type": "rebalance", "command_id": "b4", "weights": {"ghost": "0.1"}}, "ghost"),
    (
        {
            "type": "add",
            "command_id": "b5",
            "strategy_id": "trend",
            "catalog": "slow_trend",
            "allocation": "0.01",
        },
        "trend",
    ),
    (
        {
            "type": "add",
            "command_id": "b6",
            "strategy_id": "new",
            "catalog": "nowhere",
            "allocation": "0.01",
        },
        "nowhere",
    ),
    (
        {
            "type": "add",
            "command_id": "b7",
            "strategy_id": "new",
            "catalog": "slow_trend",
            "allocation": "0.5",
        },
        "would exceed 100%",
    ),
    (
        {
            "type": "add",
            "command_id": "b8",
            "strategy_id": "new",
            "catalog": "broken",
            "allocation": "0.01",
        },
        "failed to initialize",
    ),
    ({"type": "remove", "command_id": "b9", "strategy_id": "ghost"}, "ghost"),
]


async def test_rejections_say_why_and_change_nothing(
    settings: FundSettings, tmp_path: Path
) -> None:
    slices = await demo_slices(settings)
    async with Fund(settings, tmp_path / "state") as fund:
        await drive(fund, slices[:10], {}, lambda o: None)
        free = {"type": "rebalance", "command_id": "free", "weights": {"trend": "0.1"}}
        assert (await fund.send(**free)).status == "applied"  # room for an add
        before = await fund.digest()
        for command, reason in BAD:
            outcome = await fund.send(**command)
            assert outcome.status == "rejected", command
            assert reason in outcome.detail, (command, outcome.detail)
            assert await fund.digest() == before
        assert "broken" not in fund.sup._engine.workers


async def test_a_command_id_is_applied_once(settings: FundSettings, tmp_path: Path) -> None:
    async with Fund(settings, tmp_path / "state") as fund:
        pause = {"type": "pause", "command_id": "same", "strategy_id": "trend"}
        assert (await fund.send(**pause)).status == "applied"
        # the same command, keys in another order and a default spelt out: a duplicate
        again = await fund.send(
            strategy_id="trend", reason="paused by operator", command_id="same", type="pause"
        )
        assert (again.status, again.duplicate, again.detail) == ("applied", True, "ok")
        resume = {"type": "resume", "command_id": "same", "strategy_id": "trend"}
        conflict = await fund.send(**resume)
        assert (conflict.status, conflict.duplicate) == ("rejected", False)
        assert "already used by a different command" in conflict.detail
        assert fund.sup._engine.book.records["trend"].state is StrategyState.PAUSED


def over_budget(command_id: str, allocation: str = "0.5") -> dict[str, Any]:
    return {
        "type": "add",
        "command_id": command_id,
        "strategy_id": "slow",
        "catalog": "slow_trend",
        "allocation": allocation,
    }


async def test_every_command_id_keeps_its_first_outcome_across_restarts(
    settings: FundSettings, tmp_path: Path
) -> None:
    slices = await demo_slices(settings)
    state = tmp_path / "state"
    async with Fund(settings, state) as fund:
        await drive(fund, slices[:3], {}, lambda o: None)
        free = {"type": "rebalance", "command_id": "free", "weights": {"trend": "0.1"}}
        assert (await fund.send(**free)).status == "applied"  # room for an add
        rejected = await fund.send(**over_budget("a1", "0.9"))  # refused before journaling
        assert rejected.status == "rejected" and "would exceed 100%" in rejected.detail
        broken = {**over_budget("a2", "0.01"), "catalog": "broken"}  # code that fails
        assert "failed to initialize" in (await fund.send(**broken)).detail
        assert (await fund.send(type="status", command_id="s1")).detail == "status"
        assert (await fund.send(type="snapshot", command_id="k1")).status == "applied"
        await drive(fund, slices[3:5], {}, lambda o: None)  # journaled after the snapshot
        expected = await fund.digest()
    for _ in range(2):  # from the journal alone, then from the snapshot written below
        async with Fund(settings, state) as fund:
            snapshots = fund.store.latest_snapshot()
            assert await fund.digest() == expected
            first = await fund.send(**over_budget("a1", "0.9"))
            assert (first.status, first.duplicate) == ("rejected", True)
            assert first.detail == rejected.detail
            applied_elsewhere = await fund.send(**over_budget("a1", "0.01"))
            assert applied_elsewhere.status == "rejected"
            assert "already used by a different command" in applied_elsewhere.detail
            assert (await fund.send(**broken)).duplicate
            status = await fund.send(type="status", command_id="s1")
            assert (status.duplicate, status.slice_index) == (True, 3)
            snapshot = await fund.send(type="snapshot", command_id="k1")
            assert (snapshot.duplicate, snapshot.slice_index) == (True, 3)
            assert fund.store.latest_snapshot() == snapshots  # not written again
            assert "slow" not in fund.sup._engine.book.records
            assert await fund.digest() == expected
            await fund.sup.snapshot()


async def test_an_added_strategy_that_no_longer_loads_stops_recovery_with_a_reason(
    tmp_path: Path,
) -> None:
    module = tmp_path / "pkg_vanishing.py"
    module.write_text(
        "from tests.workers.sample_strategies import Idle\n\nclass Vanishing(Idle):\n    pass\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        settings = make_settings(tmp_path, vanishing={"class": "pkg_vanishing:Vanishing"})
        async with Fund(settings, tmp_path / "state") as fund:
            add = {
                "type": "add",
                "command_id": "v1",
                "strategy_id": "v",
                "catalog": "vanishing",
                "allocation": "0.01",
            }
            assert (await fund.send(**add)).status == "applied"
        module.unlink()
        sys.modules.pop("pkg_vanishing", None)
        with pytest.raises(RecoveryError, match="cannot re-create strategy 'v'"):
            async with Fund(settings, tmp_path / "state"):
                pass
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("pkg_vanishing", None)


def debt_settings(
    tmp_path: Path, allocation: str, shares: int, mode: str = "inprocess"
) -> FundSettings:
    data = yaml.safe_load((ROOT / "config/examples/demo.yaml").read_text())
    data["strategies"] = [
        {
            "id": "lev",
            "class": "tests.workers.sample_strategies:Leveraged",
            "params": {"shares": shares},
            "allocation": allocation,
            "worker": mode,
        }
    ]
    data["ledger"]["allow_negative_cash"] = True
    data["allocation"]["algorithm"] = {"name": "fixed"}  # the initial rebalance keeps it
    data["fund"]["capital"] = 100_000
    path = tmp_path / f"debt-{allocation}.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_settings(path)


async def crash(fund: Fund) -> None:
    for i, price in enumerate(("100", "100", "20")):
        ts = datetime(2024, 1, 2, tzinfo=UTC) + timedelta(days=i)
        await fund.sup.process(Slice(ts, {"AAA": Bar.flat(ts, "AAA", price)}))


async def test_removing_a_strategy_in_debt_has_the_reserve_pay(tmp_path: Path) -> None:
    async with Fund(debt_settings(tmp_path, "0.5", 1000), tmp_path / "a") as fund:
        await crash(fund)
        book = fund.sup._engine.book
        assert book.records["lev"].value == Decimal(-30_000)
        remove = {"type": "remove", "command_id": "x", "strategy_id": "lev"}
        outcome = await fund.send(**remove)
        assert (outcome.status, outcome.detail) == ("applied", "returned -30000.00")
        assert book.reserve.cash == book.fund_value == Decimal(20_000)


@pytest.mark.parametrize("mode", ["inprocess", "process", "shard"])
async def test_a_debt_the_reserve_cannot_pay_is_refused_without_change(
    tmp_path: Path, mode: str
) -> None:
    async with Fund(debt_settings(tmp_path, "0.9", 2000, mode), tmp_path / "b") as fund:
        await crash(fund)
        before = await fund.digest()
        for liquidate in (True, False):
            remove = {
                "type": "remove",
                "command_id": f"x-{liquidate}",
                "strategy_id": "lev",
                "liquidate": liquidate,
            }
            outcome = await fund.send(**remove)
            assert outcome.status == "rejected"
            assert outcome.detail.startswith("cannot raise"), outcome.detail
            assert await fund.digest() == before
            assert fund.sup._engine.book.records["lev"].state is StrategyState.RUNNING


async def test_commands_apply_while_a_paced_feed_waits_and_stop_ends_the_wait(
    settings: FundSettings, tmp_path: Path
) -> None:
    kind, options = feed_options(settings)
    options["speed"] = 86400 / 30  # one daily bar every 30 seconds
    stop = asyncio.Event()
    async with Fund(settings, tmp_path / "state") as fund, build_feed(kind, **options) as feed:
        running = asyncio.create_task(fund.sup.run(feed, stop))
        async with asyncio.timeout(10):
            while fund.sup._engine.state.slice_index < 1:  # the first bar is due at once
                await asyncio.sleep(0.01)
            pause = {"type": "pause", "command_id": "now", "strategy_id": "trend"}
            outcome = await fund.sup.submit(parse_command(pause))
            assert (outcome.status, outcome.slice_index) == ("applied", 1)  # not 30 s later
            stop.set()
            await running
        assert fund.sup._engine.state.slice_index == 1
