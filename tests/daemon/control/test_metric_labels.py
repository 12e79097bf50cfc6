"""Every label value of the exposition comes from a closed set, whatever clients send: a
client's free text (a rebalance's or a pause's reason, an unknown command type) never
becomes a series; it stays in `/v1/rebalances` and the log."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from core.records import RebalanceTrigger, StrategyState
from daemon.control.health import Health
from daemon.control.metrics import FundMetrics
from daemon.control.openapi import COMMAND_EXAMPLES
from daemon.control.service import UNKNOWN_TYPE, CommandService
from daemon.control.views import rebalances_view
from daemon.feeds.validation import REJECT_REASONS
from tests.support.fund import Fund, demo_slices, make_settings

SENDS = 200


def hostile(i: int) -> list[dict[str, Any] | bytes]:
    """Commands whose text a careless label would export: each reason and type is new."""
    return [
        {
            "type": "rebalance",
            "command_id": f"r{i}",
            "weights": {"trend": "0.2"},
            "reason": f"n{i}",
        },
        {"type": "pause", "command_id": f"p{i}", "strategy_id": "momentum", "reason": f"p{i}"},
        {"type": "resume", "command_id": f"u{i}", "strategy_id": "momentum"},
        {"type": f"kind-{i}", "command_id": f"k{i}"},
        {"type": "pause", "command_id": f"g{i}", "strategy_id": f"ghost-{i}"},
        f'{{"type": "evil-{i}",'.encode(),
    ]


async def send_all(service: CommandService, fund: Fund, market: Any) -> None:
    payloads = [
        c if isinstance(c, bytes) else json.dumps(c) for i in range(SENDS) for c in hostile(i)
    ]
    # the commands queue first; `process` applies them at the boundary before `market`
    await asyncio.gather(*(service.execute(p) for p in payloads), fund.sup.process(market))


async def test_clients_cannot_choose_label_values(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, bars=12)
    slices = await demo_slices(settings)
    async with Fund(settings, tmp_path / "state") as fund:
        service = CommandService(fund.sup, "demo")
        metrics = FundMetrics(fund.sup, service=service, health=Health(fund.sup, fund.store))
        for market in slices[:5]:
            await fund.sup.process(market)
        await send_all(service, fund, slices[5])
        for market in slices[6:]:
            await fund.sup.process(market)
        text = metrics.render()[0].decode()
        families = {family.name: family for family in text_string_to_metric_families(text)}
        book = fund.sup._engine.book
        allowed = {
            "trigger": {trigger.value for trigger in RebalanceTrigger},
            "reason": set(REJECT_REASONS),
            "type": {*COMMAND_EXAMPLES, UNKNOWN_TYPE},
            "outcome": {"accepted", "applied", "rejected"},
            "state": {state.value for state in StrategyState},
            "strategy": set(book.records),  # configured (or added) strategies only
        }
        seen: dict[str, set[str]] = {}
        for family in families.values():
            for sample in family.samples:
                for name, label_value in sample.labels.items():
                    if name != "le":  # histogram bounds: fixed
                        seen.setdefault(name, set()).add(label_value)
        for name, values in seen.items():
            assert name in allowed, f"label {name!r} is not audited"
            assert values <= allowed[name], (name, values - allowed[name])
        rebalances = families["paperfund_rebalances"].samples
        triggers = {s.labels["trigger"]: s.value for s in rebalances}
        assert triggers == {"initial": 1, "calendar": 0, "drift": 0, "manual": SENDS}
        # the free text is kept where people read it
        reasons = [r["reason"] for r in rebalances_view(book) if r["trigger"] == "manual"]
        assert reasons == [f"n{i}" for i in range(SENDS)]
        commands = {
            (s.labels["type"], s.labels["outcome"]): s.value
            for s in families["paperfund_commands"].samples
        }
        assert commands[("rebalance", "applied")] == SENDS
        assert commands[(UNKNOWN_TYPE, "rejected")] == 2 * SENDS
