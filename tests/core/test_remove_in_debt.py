"""Removing a strategy left in debt: the reserve pays the debt, or, when it cannot, the
removal is refused and nothing has changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core import Ledger, PortfolioAllocator
from core.errors import InsufficientFundsError
from core.market import Bar, Slice
from tests.workers.sample_strategies import Leveraged

START = datetime(2024, 1, 2, tzinfo=UTC)
PRICES = ("100", "100", "20")  # ordered on the first bar, filled on the second, then a crash


def in_debt(allocation: str, shares: int) -> PortfolioAllocator:
    fund = PortfolioAllocator(
        Decimal(100_000),
        ledger_factory=lambda sid: (
            Ledger() if sid == "__reserve__" else Ledger(allow_negative_cash=True)
        ),
    )
    fund.add_strategy("lev", Leveraged(shares), Decimal(allocation))
    for i, price in enumerate(PRICES):
        ts = START + timedelta(days=i)
        fund.execute_bar(ts, Slice(ts, {"AAA": Bar.flat(ts, "AAA", price)}))
    return fund


def test_the_reserve_pays_the_debt_of_a_removed_strategy() -> None:
    fund = in_debt("0.5", 1000)
    ledger = fund.strategies["lev"].ledger
    assert ledger is not None and ledger.portfolio_value == Decimal(-30_000)
    before = fund.total_capital
    assert fund.remove_strategy("lev") == Decimal(-30_000)
    assert "lev" not in fund.strategies
    assert fund.reserve.cash == Decimal(20_000)
    assert fund.total_capital == before == Decimal(20_000)


def test_a_debt_the_reserve_cannot_pay_refuses_the_removal_and_changes_nothing() -> None:
    fund = in_debt("0.9", 2000)
    record = fund.strategies["lev"]
    assert record.ledger is not None
    ledger_before, reserve_before = record.ledger.to_state(), fund.reserve.to_state()
    state, value = record.state, record.value
    with pytest.raises(InsufficientFundsError):
        fund.remove_strategy("lev", liquidate=False)
    record = fund.strategies["lev"]
    assert record.ledger is not None
    assert record.ledger.to_state() == ledger_before
    assert fund.reserve.to_state() == reserve_before
    assert (record.state, record.value) == (state, value)
    assert list(fund.strategies) == ["lev"]
