"""The fund computes its money in its own decimal context (`core.money.FUND_DECIMALS`) at
every entry point, whatever context its caller has set: a notebook at 4 digits rounding up
gets the same fund, to the digit, as one at Python's defaults, and keeps its own context."""

from __future__ import annotations

from decimal import ROUND_UP, Context, Decimal, getcontext, localcontext
from typing import Any

from core import (
    AllocationRebalancer,
    PortfolioAllocator,
    RebalancingFrequency,
    RiskParityAllocation,
)
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
