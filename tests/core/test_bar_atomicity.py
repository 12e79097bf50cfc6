"""A bar is atomic for the fund: `SystemExit` (any `BaseException`) from strategy code is
that strategy's fault, and a Ctrl-C in the middle of a bar finishes the bar consistently
before it stops the program."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from core import PortfolioAllocator
from core.ledger import Ledger
from core.orders import Position
from tests.support.drivers import DRIVERS, Planned, flat_slices, run
from tests.support.rogue_strategies import OrdersThenFails, Steady

ROOT = Path(__file__).resolve().parents[2]
FAILS = "tests.support.rogue_strategies:OrdersThenFails"
STEADY = "tests.support.rogue_strategies:Steady"


def _fund() -> PortfolioAllocator:
    fund = PortfolioAllocator(Decimal(100_000))
    fund.add_strategy("first", Steady(), Decimal("0.2"))
    fund.add_strategy("failing", OrdersThenFails(fail_on=3, error="SystemExit"), Decimal("0.2"))
    fund.add_strategy("last", Steady(), Decimal("0.2"))
    return fund


def test_system_exit_from_strategy_code_quarantines_it_and_the_bar_goes_on() -> None:
    fund = _fund()
    slices = flat_slices(5)
    for market in slices:
        fund.execute_bar(market.ts, market)
    assert fund.execution_count == 5 and fund.current_timestamp == slices[-1].ts
    failing = fund.strategies["failing"]
    assert failing.quarantined and failing.pause_reason == (
        "quarantined: SystemExit raised by strategy code: 3"
    )
    for rec in fund.strategies.values():
        assert rec.performance.num_observations == 1 + 5
        assert rec.ledger is not None and rec.ledger.last_ts == slices[-1].ts
    last = fund.strategies["last"].ledger
    assert last is not None and last.positions["AAA"].amount == 5  # it traded on bar 1


@pytest.mark.parametrize("driver", [d for d in DRIVERS if d != "allocator"])
@pytest.mark.parametrize("error", ["SystemExit", "KeyboardInterrupt"])
async def test_a_worker_host_treats_any_base_exception_as_a_fault(driver: str, error: str) -> None:
    plan = [
        Planned("failing", FAILS, {"fail_on": 2, "error": error}, Decimal("0.5")),
        Planned("steady", STEADY, {}, Decimal("0.2")),
    ]
    result = await run(driver, plan, flat_slices(4))
    state, quarantined, reason, _, _, observations = result.records["failing"]
    assert (state, quarantined, observations) == ("paused", True, 1 + 4)
    assert reason is not None and reason.startswith(f"quarantined: {error} raised by strategy")
    assert result.records["steady"][:2] == ("running", False)


def test_keyboard_interrupt_in_a_bar_finishes_the_bar_then_propagates() -> None:
    fund = _fund()
    fund.add_strategy("interrupts", OrdersThenFails(fail_on=2, error="KeyboardInterrupt"), 0.1)
    fund.add_strategy("after", Steady(), Decimal("0.1"))
    slices = flat_slices(4)
    fund.execute_bar(slices[0].ts, slices[0])
    with pytest.raises(KeyboardInterrupt):
        fund.execute_bar(slices[1].ts, slices[1])
    assert fund.execution_count == 2 and fund.current_timestamp == slices[1].ts
    for sid, rec in fund.strategies.items():
        assert rec.performance.num_observations == 1 + 2, sid
        assert rec.ledger is not None and rec.ledger.last_ts == slices[1].ts, sid
        assert rec.error_count == 0 and not rec.quarantined, sid
    after = fund.strategies["after"].ledger
    assert after is not None and after.positions["AAA"].amount == 5  # bar 1's order filled
    for market in slices[2:]:  # the program may go on with the next bar
        fund.execute_bar(market.ts, market)
    assert fund.execution_count == 4


def test_ctrl_c_stops_an_allocator_loop_cleanly_with_every_bar_whole() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.interrupted_fund"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with child:  # closes its pipes, whatever happens
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "inside handle_data\n"  # bar 3, strategy 2 of 3
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=60)
        finally:
            child.kill()
    assert child.returncode == 130, err
    assert "Traceback" not in err
    state = json.loads(out)
    assert state["execution_count"] == 3
    assert set(state["observations"].values()) == {1 + 3}
    assert set(state["last_ts"].values()) == {state["current_timestamp"]}
    assert state["fund_value"] == "100000.00"


class _InterruptedOnRelease(Ledger):
    """A ledger whose hand-over of positions is interrupted (a Ctrl-C at that moment)."""

    def release_positions(self) -> list[Position]:
        raise KeyboardInterrupt


def test_remove_strategy_interrupted_half_way_changes_nothing() -> None:
    fund = PortfolioAllocator(Decimal(100_000), ledger_factory=lambda sid: _InterruptedOnRelease())
    fund.add_strategy("steady", Steady(), Decimal("0.5"))
    slices = flat_slices(3)
    for market in slices:
        fund.execute_bar(market.ts, market)
    rec = fund.strategies["steady"]
    before = rec.ledger.to_state(), fund.reserve.to_state(), rec.state, rec.value  # type: ignore[union-attr]
    with pytest.raises(KeyboardInterrupt):
        fund.remove_strategy("steady", liquidate=True)  # sells, then is interrupted
    rec = fund.strategies["steady"]
    after = rec.ledger.to_state(), fund.reserve.to_state(), rec.state, rec.value  # type: ignore[union-attr]
    assert after == before
    assert fund.total_capital == Decimal(100_000)
