"""Every decimal the control plane answers with is exact and in positional notation: a zero
weight is "0.0000000000", never "0E-10"; a small float return is "0.00001", never "1e-05".
The views (HTTP /v1/*, the `status` reply that the Redis channel and `paperfund ctl` carry
too) and the journaled command outcomes and events all write through one helper,
`core.money.decimal_string`."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.control.openapi_schemas import DECIMAL_PATTERN
from daemon.control.redis_channel import reply_fields
from daemon.control.service import Reply
from daemon.control.wire import reply_from_fields
from tests.support.control_plane import control

EXPONENT = re.compile(r"^-?[0-9.]+[eE][-+]?[0-9]+$")
DECIMAL = re.compile(DECIMAL_PATTERN)
MONEY_KEYS = {"value", "reserve", "initial_capital", "return", "cash", "allocated_capital"}
MONEY_KEYS |= {"target_weight", "current_weight", "costs", "fund_value_before"}
MONEY_KEYS |= {"fund_value_after", "return_on_capital"}
WEIGHT_MAPS = {"weights_before", "weights_after", "targets", "transfers", "skipped"}


def decimals_in(document: Any, key: str = "") -> list[str]:
    """The decimal strings of a view (by their documented keys), wherever they are nested."""
    found: list[str] = []
    if isinstance(document, dict):
        for k, v in document.items():
            if k in WEIGHT_MAPS and isinstance(v, dict):
                found += list(v.values())
            elif k != "metrics":
                found += decimals_in(v, k)
    elif isinstance(document, list):
        for item in document:
            found += decimals_in(item, key)
    elif isinstance(document, str) and key in MONEY_KEYS:
        found.append(document)
    return found


def strings_in(document: Any) -> list[str]:
    if isinstance(document, dict):
        return [s for v in document.values() for s in strings_in(v)]
    if isinstance(document, list):
        return [s for v in document for s in strings_in(v)]
    return [document] if isinstance(document, str) else []


async def test_zero_weights_have_no_exponent(tmp_path: Path) -> None:
    async with control(tmp_path) as c:
        await c.feed.release(*c.slices[:3])
        zero = {"type": "add", "command_id": "z", "strategy_id": "slow"}
        status, added = await c.post({**zero, "catalog": "slow_trend", "allocation": "0"})
        assert status == 200 and added["reply"]["status"] == "applied", added
        weights = {"type": "rebalance", "command_id": "r", "weights": {"trend": "0"}}
        assert (await c.post(weights))[1]["reply"]["status"] == "applied"
        await c.feed.release(*c.slices[3:5])
        _, replied = await c.post({"type": "status", "command_id": "s"})
        answers = {
            "status": (await c.get("/v1/status"))[1],
            "status reply": replied["reply"]["data"],
            "strategies": (await c.get("/v1/strategies"))[1],
            "rebalances": (await c.get("/v1/rebalances"))[1],
        }
        engine = c.fund.sup._engine
        events = [e.detail for e in engine.state.events if e.strategy_id == "slow"]
        _, removed = await c.post({"type": "remove", "command_id": "x", "strategy_id": "slow"})
    slow = next(s for s in answers["strategies"] if s["strategy_id"] == "slow")
    assert slow["target_weight"] == "0.0000000000"  # str() gives '0E-10'
    assert Decimal(slow["target_weight"]) == 0
    assert events == ["slow_trend at weight 0.0000000000"]
    assert re.fullmatch(r"returned -?\d+\.\d{2}", removed["reply"]["detail"]), removed
    for name, answer in answers.items():
        found = decimals_in(answer)
        assert found, name
        for text in found:
            assert DECIMAL.match(text), (name, text)
        for text in strings_in(answer):
            assert not EXPONENT.match(text), (name, text)
    assert Decimal(answers["rebalances"][-1]["weights_after"]["trend"]) == 0


def test_the_redis_reply_carries_the_status_as_written() -> None:
    data = {"return": "0.0000000000", "value": "1000000.00"}
    fields = reply_fields(Reply("c", "applied", 3, data=data), "1-0")
    assert json.loads(fields["data"]) == data
    assert reply_from_fields(fields)["data"] == data
