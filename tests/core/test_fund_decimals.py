"""The fund computes its money in its own decimal context (`core.money.FUND_DECIMALS`) at
every entry point, whatever context its caller has set: a notebook at 4 digits rounding up
gets the same fund, to the digit, as one at Python's defaults, and keeps its own context."""

from __future__ import annotations

from decimal import ROUND_UP, Context, Decimal, getcontext, localcontext
from typing import Any

import pytest

from core import (
    AllocationRebalancer,
    PortfolioAllocator,
    RebalancingFrequency,
    RiskParityAllocation,
)
from core.errors import InvalidInputError
from core.ledger import Ledger
from core.market import Bar, Slice
from tests.bench.order_workload import SYMBOLS, UpTickTrader, price_slices
from workers.strategies.moving_average import MovingAverageCrossover

CAPITAL = Decimal("1000000.37")
SLICES = price_slices(60, seed=7)  # the inputs, worked out in Python's default context
WEIGHTS = [Decimal(w) / 3 for w in ("0.3", "0.2", "0.15", "0.1")]
TARGETS = {"s0": Decimal(1) / 7, "s2": Decimal(2) / 7}


def _run() -> dict[str, Any]:
    """A fund driven through every entry point; what it ends with, and the caller's context
    as each call left it."""
    seen: list[tuple[int, str]] = []

    def note() -> None:
        seen.append((getcontext().prec, getcontext().rounding))

    fund = PortfolioAllocator(CAPITAL, name="digits")
    for i, weight in enumerate(WEIGHTS):
        symbol = SYMBOLS[i]
        strategy: Any = UpTickTrader(symbol) if i % 2 else MovingAverageCrossover([symbol], 3, 7)
        fund.add_strategy(f"s{i}", strategy, weight)
        note()
    rebalancer = AllocationRebalancer(
        RiskParityAllocation(lookback_window=10),
        RebalancingFrequency.WEEKLY,
        drift_threshold=Decimal("0.01"),
    )
    records = []
    for t, market in enumerate(SLICES):
        fund.execute_bar(market.ts, market)
        note()
        record = fund.rebalance_if_due(rebalancer)
        if record is not None:
            records.append(record)
        if t == 20:
            fund.pause_strategy("s1")
            records.append(fund.rebalance(TARGETS))
        if t == 40:
            fund.resume_strategy("s1")
            fund.remove_strategy("s3", liquidate=True)
        note()
    assert len(records) > 2, "the run rebalances on its own schedule as well"
    return {
        "capital": (fund.total_capital, fund.allocated_capital),
        "ledgers": {sid: r.ledger.to_state() for sid, r in fund.strategies.items() if r.ledger},
        "reserve": fund.reserve.to_state(),
        "performance": {sid: r.performance.to_state() for sid, r in fund.strategies.items()},
        "rebalances": records,
        "removed": fund.removed,
        "metrics": fund.get_portfolio_metrics(),
        "contexts": seen,
    }


def test_a_callers_decimal_context_changes_nothing_in_the_fund() -> None:
    reference = _run()
    with localcontext(Context(prec=4, rounding=ROUND_UP)):
        rounded = _run()
        assert (getcontext().prec, getcontext().rounding) == (4, ROUND_UP)
    assert set(rounded.pop("contexts")) == {(4, ROUND_UP)}  # each call gave it back
    assert set(reference.pop("contexts")) == {(28, "ROUND_HALF_EVEN")}
    assert rounded == reference


def test_a_strategys_ledger_computes_in_the_fund_context_and_gives_the_strategys_back() -> None:
    """Every method of a strategy's ledger that computes money does it in `FUND_DECIMALS`
    while the strategy's own context (here 3 digits, rounding up) is current, and that
    context is current again after each call, a refused one included."""

    def book(ledger: Ledger) -> Any:
        view = ledger.strategy_view()
        views = [
            view.order("AAA", 7),
            view.order_value("AAA", Decimal("1000.37")),
            view.order_target("AAA", 11),
            view.order_target_value("AAA", Decimal("2000.11")),
            view.order_target_percent("AAA", Decimal("0.123")),
        ]
        return (
            [(v.amount, v.status) for v in views if v is not None],
            view.portfolio_value,
            view.positions_value,
        )

    ts = SLICES[0].ts
    market = Slice(ts, {"AAA": Bar(ts, "AAA", *[Decimal("10.37")] * 4, Decimal(10**7))})

    def fresh() -> Ledger:
        ledger = Ledger(CAPITAL)
        ledger.process_slice(market)
        return ledger

    expected = book(fresh())
    own = Context(prec=3, rounding=ROUND_UP)
    with localcontext(own) as strategy_context:
        assert book(fresh()) == expected
        assert getcontext() is strategy_context
        with pytest.raises(InvalidInputError, match="amount"):
            fresh().strategy_view().order("AAA", "x")
        assert getcontext() is strategy_context
    assert expected[1] == Decimal("1000000.37")
