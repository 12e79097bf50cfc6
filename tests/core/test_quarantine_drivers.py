"""One quarantine rule in both drivers: a strategy the fund quarantines has its open orders
cancelled at once (with `QUARANTINE_CANCEL_REASON`) and steps no more. The same faulting
fund through `PortfolioAllocator` and the daemon's engine (in-process and process workers,
shard processes and shard actors on Ray) gives the same ledgers, to the digit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.records import QUARANTINE_CANCEL_REASON
from tests.support.drivers import DRIVERS, Planned, RunResult, flat_slices, run

FAILS = "tests.support.rogue_strategies:OrdersThenFails"
STEADY = "tests.support.rogue_strategies:Steady"


async def _all_drivers(plan: list[Planned], bars: int) -> dict[str, RunResult]:
    slices = flat_slices(bars)
    return {driver: await run(driver, plan, slices) for driver in DRIVERS}


@pytest.mark.usefixtures("ray")  # the "ray" driver's shards run on it
@pytest.mark.parametrize("error", ["RuntimeError", "SystemExit"])
async def test_every_driver_cancels_a_quarantined_strategys_orders(error: str) -> None:
    plan = [
        Planned("failing", FAILS, {"fail_on": 3, "error": error}, Decimal("0.5")),
        Planned("steady", STEADY, {}, Decimal("0.2")),
    ]
    results = await _all_drivers(plan, 6)
    reference = results["allocator"]
    failing = reference.ledgers["failing"]
    # bars 1 and 2 ordered 10 each, filled on bars 2 and 3; bar 3's order is cancelled
    assert [(p["asset"], Decimal(p["amount"])) for p in failing["positions"]] == [("AAA", 20)]
    assert failing["open_orders"] == []
    last = failing["closed_orders"][-1]
    assert (last["status"], last["reason"], Decimal(last["filled"])) == (
        "cancelled",
        QUARANTINE_CANCEL_REASON,
        0,
    )
    state, quarantined, _, _, _, observations = reference.records["failing"]
    assert (state, quarantined, observations) == ("paused", True, 1 + 6)  # admission + bars
    for driver in ("inprocess", "process"):
        assert results[driver].ledgers == reference.ledgers, driver
        assert results[driver].records == reference.records, driver
        assert results[driver].fund_value == reference.fund_value, driver
