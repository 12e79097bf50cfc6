"""Defence in depth: code that reaches the raw `Ledger` behind its view and changes cash or
positions is caught after the step, the change undone, and the strategy quarantined with the
reason, in both drivers and every worker kind."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.ledger import Ledger
from core.ledger_guard import check_holdings, holdings
from tests.support.drivers import CAPITAL, DRIVERS, Planned, flat_slices, run

ROGUE = "tests.support.rogue_strategies:ReachesTheLedger"
STEADY = "tests.support.rogue_strategies:Steady"


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    ("how", "what", "reason"),
    [
        ("slot", "cash", "ledger changed outside fills: cash +1000000.00, value +1000000.00"),
        ("gc", "cash", "ledger changed outside fills: cash +1000000.00, value +1000000.00"),
        ("slot", "mark", "ledger changed outside fills: value +99900.00"),
        ("gc", "position", "ledger changed outside fills: BBB +1000, value +1000.00"),
    ],
)
async def test_a_change_outside_fills_is_undone_and_quarantines(
    driver: str, how: str, what: str, reason: str
) -> None:
    plan = [
        Planned("rogue", ROGUE, {"how": how, "what": what}, Decimal("0.5")),
        Planned("steady", STEADY, {}, Decimal("0.2")),
    ]
    result = await run(driver, plan, flat_slices(5))
    assert result.fund_value == CAPITAL  # flat prices, no costs: nothing to gain or lose
    state, quarantined, pause_reason, last_error, errors, _ = result.records["rogue"]
    assert (state, quarantined, errors) == ("paused", True, 1)
    assert last_error == reason
    assert pause_reason == f"quarantined: {reason}"
    rogue = result.ledgers["rogue"]
    assert Decimal(rogue["cash"]) == Decimal(50_000) - 10 * 10  # its one real fill, bar 2
    assert [(p["asset"], Decimal(p["amount"])) for p in rogue["positions"]] == [("AAA", 10)]
    assert [Decimal(p["last_price"]) for p in rogue["positions"]] == [10]
    assert result.records["steady"][:2] == ("running", False)


def test_the_guard_lets_legitimate_steps_through_and_restores_exactly() -> None:
    ledger = Ledger(1000)
    ledger.add_position("AAA", Decimal(10), Decimal(5), Decimal(7))
    before = holdings(ledger)
    ledger.order("AAA", 1)
    assert ledger.portfolio_value == Decimal(1070)
    assert check_holdings(ledger, before) is None
    state = ledger.to_state()
    ledger._cash = Decimal(1000)  # an equal value reassigned: nothing moved
    assert check_holdings(ledger, before) is None
    ledger._positions["AAA"].amount = Decimal(-5)
    ledger._positions["ZZZ"] = ledger._positions["AAA"]
    ledger._cash = "lots"  # type: ignore[assignment]
    fault = check_holdings(ledger, before)
    assert fault is not None and fault.startswith("ledger changed outside fills: cash changed")
    assert ledger.to_state() == state
    assert ledger.portfolio_value == Decimal(1070)
