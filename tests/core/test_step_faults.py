"""A slice that one strategy's step cannot compute with (fills or marks that overflow Decimal)
is that strategy's error, counted towards its quarantine; the fund goes on, and the ledger is
left as it was before the slice."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core import PortfolioAllocator
from core.errors import InvariantViolation
from core.history import BarData, MarketHistory
from core.ledger import Ledger
from core.market import Bar, Slice
from core.records import StrategyState
from core.step import StrategyContext, run_step

START = datetime(2024, 1, 2, tzinfo=UTC)
HUGE = "1e999999999"


def ts(day: int) -> datetime:
    return START + timedelta(days=day)


def normal(day: int, price: str = "10") -> Slice:
    return Slice(ts(day), {"AAA": Bar.of(ts(day), "AAA", price, price, price, price, 1000)})


def huge(day: int, *, close: str = "10") -> Slice:
    bar = Bar.of(ts(day), "AAA", HUGE, HUGE, "9", close, 1000)
    return Slice(ts(day), {"AAA": bar})


class BuysOnce:
    """Orders 10 AAA on its first bar; the order fills against the next one."""

    def handle_data(self, context: Any, data: Any, ledger: Ledger) -> None:
        if not getattr(context, "ordered", False):
            ledger.order("AAA", 10)
            context.ordered = True


def test_a_fill_that_overflows_is_the_strategy_error_and_changes_nothing() -> None:
    fund = PortfolioAllocator(Decimal(10_000))
    fund.add_strategy("buyer", BuysOnce(), Decimal("0.5"))
    fund.execute_bar(ts(0), normal(0))
    rec = fund.strategies["buyer"]
    before = copy.deepcopy(rec.ledger.to_state())  # type: ignore[union-attr]
    fund.execute_bar(ts(1), huge(1))
    assert rec.ledger.to_state() == before  # type: ignore[union-attr]
    assert rec.error_count == 1 and rec.consecutive_errors == 1
    assert rec.last_error is not None and rec.last_error.startswith("Overflow")
    assert rec.value == Decimal(5_000)
    assert fund.total_capital == Decimal(10_000)
    fund.execute_bar(ts(2), normal(2, "11"))  # the order is still open and fills now
    assert rec.ledger.positions["AAA"].amount == 10  # type: ignore[union-attr]
    assert rec.consecutive_errors == 0  # a clean step resets the run of errors


def test_repeated_failures_quarantine_like_any_error() -> None:
    fund = PortfolioAllocator(Decimal(10_000), max_consecutive_errors=2)
    fund.add_strategy("buyer", BuysOnce(), Decimal("0.5"))
    fund.execute_bar(ts(0), normal(0))
    fund.execute_bar(ts(1), huge(1))
    fund.execute_bar(ts(2), huge(2))
    rec = fund.strategies["buyer"]
    assert (rec.state, rec.quarantined) == (StrategyState.PAUSED, True)
    assert rec.error_count == 2


def test_a_mark_that_overflows_keeps_the_previous_marks() -> None:
    fund = PortfolioAllocator(Decimal(10_000))
    fund.add_strategy("buyer", BuysOnce(), Decimal("0.5"))
    fund.execute_bar(ts(0), normal(0))
    fund.execute_bar(ts(1), normal(1))
    rec = fund.strategies["buyer"]
    value = rec.value
    fund.execute_bar(ts(2), huge(2, close=HUGE))
    assert rec.ledger.positions["AAA"].last_price == Decimal(10)  # type: ignore[union-attr]
    assert rec.value == value and rec.error_count == 1
    fund.execute_bar(ts(3), normal(3, "12"))
    assert rec.ledger.positions["AAA"].last_price == Decimal(12)  # type: ignore[union-attr]


def test_the_reserve_keeps_its_marks_when_a_bar_cannot_be_computed() -> None:
    fund = PortfolioAllocator(Decimal(10_000))
    fund.execute_bar(ts(0), normal(0))
    fund.reserve.add_position("AAA", 5, 10, 10)
    fund.execute_bar(ts(1), huge(1, close=HUGE))
    assert fund.reserve.positions["AAA"].last_price == Decimal(10)
    assert fund.total_capital == Decimal(10_050)
    fund.execute_bar(ts(2), normal(2, "11"))
    assert fund.total_capital == Decimal(10_055)


def test_run_step_reports_the_failure_and_does_not_call_the_strategy() -> None:
    class Counting:
        calls = 0

        def handle_data(self, context: Any, data: Any, ledger: Ledger) -> None:
            self.calls += 1

    ledger = Ledger()
    ledger.transfer_in(Decimal(1_000))
    ledger.add_position("AAA", 1, 10, 10)
    strategy = Counting()
    market = huge(1, close=HUGE)
    history = MarketHistory(4)
    history.append(market)
    report = run_step(
        "s", strategy, StrategyContext("s"), ledger, BarData(market, history), trading=True
    )
    assert report.error is not None and "while filling and marking" in report.error
    assert (report.value, report.fills, strategy.calls) == (Decimal(1_010), (), 0)
    assert ledger.last_ts is None


def test_an_invariant_violation_still_stops_the_fund() -> None:
    class Broken(Ledger):
        def process_slice(self, market: Slice) -> list[Any]:
            raise InvariantViolation("money created")

    market = normal(0)
    history = MarketHistory(4)
    history.append(market)
    with pytest.raises(InvariantViolation):
        run_step(
            "s", BuysOnce(), StrategyContext("s"), Broken(), BarData(market, history), trading=True
        )


def test_fills_before_the_failing_one_are_undone_too() -> None:
    ledger = Ledger()
    ledger.transfer_in(Decimal(10_000))
    first = Slice(ts(0), {s: Bar.flat(ts(0), s, 10, 1000) for s in ("AAA", "BBB")})
    ledger.process_slice(first)
    ledger.add_position("AAA", 5, 10, 10)
    ledger.order("AAA", 10)
    ledger.order("BBB", 10)
    before = copy.deepcopy(ledger.to_state())
    market = Slice(
        ts(1),
        {
            "AAA": Bar.flat(ts(1), "AAA", 11, 1000),  # fills first
            "BBB": Bar.of(ts(1), "BBB", HUGE, HUGE, "9", "10", 1000),  # then overflows
        },
    )
    with pytest.raises(ArithmeticError):
        ledger.process_slice(market)
    assert ledger.to_state() == before
    assert ledger.portfolio_value == Decimal(10_050)
    assert [o.filled for o in ledger.open_orders] == [0, 0]
    fills = ledger.process_slice(
        Slice(ts(2), {s: Bar.flat(ts(2), s, 12, 1000) for s in ("AAA", "BBB")})
    )
    assert [f.asset for f in fills] == ["AAA", "BBB"]
    assert ledger.positions["AAA"].amount == 15 and not ledger.open_orders
