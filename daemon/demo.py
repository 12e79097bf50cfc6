"""`paperfund demo`: a fund of the example strategies on the seeded synthetic feed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core import (
    AllocationConstraints,
    AllocationRebalancer,
    PortfolioAllocator,
    RebalancingFrequency,
    RiskParityAllocation,
)
from daemon.feeds.synthetic import synthetic_slices
from daemon.summary import print_summary
from workers.strategies import (
    MeanReversionStrategy,
    MomentumStrategy,
    MovingAverageCrossover,
)

SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE")


def run_demo(
    bars: int = 504, seed: int = 7, out: Callable[[str], None] = print
) -> PortfolioAllocator:
    """Run three strategies for `bars` daily bars with monthly risk-parity rebalancing, as
    `config/examples/demo.yaml` does: at most 25 % in one strategy, 30 % kept in reserve."""
    fund = PortfolioAllocator(Decimal("1000000"), name="demo")
    fund.add_strategy("trend", MovingAverageCrossover(fast=10, slow=40), Decimal("0.25"))
    fund.add_strategy("momentum", MomentumStrategy(lookback=20, top=2), Decimal("0.25"))
    fund.add_strategy("mean_reversion", MeanReversionStrategy(threshold=30), Decimal("0.20"))
    rebalancer = AllocationRebalancer(
        RiskParityAllocation(
            lookback_window=63,
            constraints=AllocationConstraints(
                default_max=Decimal("0.25"), max_total=Decimal("0.70")
            ),
        ),
        frequency=RebalancingFrequency.MONTHLY,
        cooldown_days=7,
    )
    feed = synthetic_slices(
        SYMBOLS,
        start=datetime(2024, 1, 2, tzinfo=UTC),
        interval=timedelta(days=1),
        bars=bars,
        seed=seed,
    )
    for market in feed:
        fund.execute_bar(market.ts, market)
        fund.rebalance_if_due(rebalancer)
    print_summary(fund.book, fund.name, out)
    return fund
