"""A strategy's decimal context is its own: what its code sets (`getcontext().prec`, a
rounding, a trap) changes its own arithmetic, kept from `initialize` on and across
snapshots, and never the fund's money, in every driver alike."""

from __future__ import annotations

from decimal import Context, Decimal, getcontext

import pytest

from core.money import FUND_DECIMALS
from tests.support.drivers import DRIVERS, Planned, RunResult, flat_slices, run
from workers.factory import WorkerSpec
from workers.host import build_host

ROGUES = "tests.support.rogue_strategies"
STEADY = f"{ROGUES}:Steady"


async def _run_all(rogue: str) -> dict[str, RunResult]:
    plan = [
        Planned("own", rogue, {}, Decimal("0.4")),
        Planned("steady", STEADY, {}, Decimal("0.3")),
    ]
    slices = flat_slices(6, price="10.37")
    return {driver: await run(driver, plan, slices) for driver in DRIVERS}


@pytest.mark.usefixtures("ray")  # the "ray" driver's shards run on it
async def test_a_strategys_own_arithmetic_stays_its_own_in_every_driver() -> None:
    results = await _run_all(f"{ROGUES}:OwnDecimals")
    reference = results["allocator"]
    own = reference.ledgers["own"]
    assert [(p["asset"], Decimal(p["amount"])) for p in own["positions"]] == [("AAA", 3330)]
    for driver, result in results.items():
        assert result.ledgers == reference.ledgers, driver
        assert result.records == reference.records, driver
        assert result.fund_value == reference.fund_value, driver
    assert getcontext().prec == 28  # this test's own context is untouched


def test_the_fund_context_is_pythons_default_and_a_strategys_survives_a_snapshot() -> None:
    assert _settings(FUND_DECIMALS) == _settings(Context())
    spec = WorkerSpec("own", f"{ROGUES}:OwnDecimals", {})
    host = build_host(spec.strategy_id, spec.strategy_path, spec.params, spec.ledger, 16)
    host.initialize()
    again = build_host(spec.strategy_id, spec.strategy_path, spec.params, spec.ledger, 16)
    again.restore(host.snapshot())
    assert (again.decimals.prec, again.decimals.rounding) == (3, "ROUND_DOWN")
    assert getcontext().prec == 28


def _settings(context: Context) -> tuple[object, ...]:
    traps = sorted(signal.__name__ for signal, on in context.traps.items() if on)
    return (context.prec, context.rounding, context.Emin, context.Emax, context.clamp, traps)
