"""The README's "Using the core" example runs as written, on real daily data, and its loop
allocates among the running strategies only: a strategy paused on the way keeps its cash
and positions through the monthly rebalances that follow."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core import PortfolioAllocator, Slice
from tests.core.held_strategies import holdings
from tests.support.market_data import daily_slices, iter_window

README = Path(__file__).resolve().parents[1] / "README.md"
PAUSE_AT = 120


def core_example() -> str:
    section = README.read_text().split("## Using the core", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def test_the_readme_core_loop_runs_and_holds_a_paused_strategys_capital() -> None:
    scope: dict[str, Any] = {}
    paused: list[tuple[datetime, Any]] = []

    def feed() -> Iterator[tuple[datetime, Slice]]:
        for i, market in enumerate(iter_window(daily_slices(), "2004-01-02", "2004-12-31")):
            if i == PAUSE_AT:  # between two bars, as an operator would
                fund: PortfolioAllocator = scope["fund"]
                fund.pause_strategy("mean_rev", "review")
                paused.append((market.ts, mean_rev_holdings(fund)))
            yield market.ts, market

    printed: list[Any] = []
    scope.update(feed=feed(), print=printed.append)
    exec(compile(core_example(), str(README), "exec"), scope)
    fund = scope["fund"]
    assert printed == [fund.get_portfolio_metrics()]
    [(paused_at, held)] = paused
    assert mean_rev_holdings(fund) == held
    history = fund.rebalance_history
    after = [r for r in history if r.ts >= paused_at]
    assert len(after) >= 6  # monthly, June to December
    assert all("mean_rev" not in r.targets and "mean_rev" not in r.transfers for r in after)
    for record in history:
        assert record.fund_value_after == record.fund_value_before - record.costs
    # the reserve the example keeps: 20 % after every rebalance while both strategies run
    before = [r for r in history if r.ts < paused_at]
    assert len(before) >= 5
    assert all(sum(r.weights_after.values()) <= Decimal("0.8001") for r in before)


def mean_rev_holdings(fund: PortfolioAllocator) -> Any:
    ledger = fund.strategies["mean_rev"].ledger
    assert ledger is not None
    return holdings(ledger.to_state())
