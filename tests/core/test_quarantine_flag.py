"""A strategy paused by the fund (consecutive errors) is marked quarantined; one paused by
an operator is not; resuming clears the mark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core import PortfolioAllocator
from core.market import Bar, Slice
from core.records import StrategyState

START = datetime(2024, 1, 2, tzinfo=UTC)


class Failing:
    def handle_data(self, context: Any, data: Any, ledger: Any) -> None:
        raise RuntimeError("broken")


class Idle:
    def handle_data(self, context: Any, data: Any, ledger: Any) -> None:
        return None


def bars(fund: PortfolioAllocator, days: range) -> None:
    for day in days:
        ts = START + timedelta(days=day)
        fund.execute_bar(ts, Slice(ts, {"AAA": Bar.flat(ts, "AAA", 10)}))


def test_only_the_fund_quarantines() -> None:
    fund = PortfolioAllocator(Decimal(10_000), max_consecutive_errors=2)
    fund.add_strategy("bad", Failing(), Decimal("0.1"))
    fund.add_strategy("good", Idle(), Decimal("0.1"))
    bars(fund, range(2))
    bad, good = fund.strategies["bad"], fund.strategies["good"]
    assert (bad.state, bad.quarantined) == (StrategyState.PAUSED, True)
    fund.pause_strategy("good", "operator")
    assert (good.state, good.quarantined) == (StrategyState.PAUSED, False)
    fund.resume_strategy("bad")
    assert (bad.state, bad.quarantined) == (StrategyState.RUNNING, False)
