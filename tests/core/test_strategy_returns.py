"""A strategy's returns: the time-weighted return is the headline; the return on the net
capital put in is 'n/a' (None) once more was withdrawn than put in, never a made-up 0.00 %."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import PortfolioAllocator
from core.money import format_pct_or_na
from core.performance import StrategyPerformance
from tests.core.helpers import market, ts
from tests.core.strategies import BuyAndHold

D = Decimal


def test_total_return_chains_the_returns_and_ignores_transfers() -> None:
    perf = StrategyPerformance("s")
    assert perf.total_return == 0.0
    perf.update(ts(0), D(100))
    perf.update(ts(1), D(300))  # +200 %
    perf.update(ts(2), D(110), flow=D(-200))  # 100 left after the payout, then +10 %
    assert perf.total_return == pytest.approx(3.0 * 1.1 - 1.0, abs=1e-15)
    restored = StrategyPerformance.from_state(perf.to_state())
    assert restored.total_return == perf.total_return


def test_total_return_of_an_emptied_strategy_keeps_what_it_earned() -> None:
    perf = StrategyPerformance("s")
    perf.update(ts(0), D(100))
    perf.update(ts(1), D(150))
    perf.update(ts(2), D(0), flow=D(-150))  # everything paid out: no return for this bar
    assert perf.total_return == pytest.approx(0.5, abs=1e-15)


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(None, "n/a"), (D("0.05"), "5.00%"), (D(0), "0.00%"), (-0.125, "-12.50%")],
)
def test_format_pct_or_na(fraction: Decimal | float | None, text: str) -> None:
    assert format_pct_or_na(fraction) == text


def tripled_and_paid_out() -> PortfolioAllocator:
    """Half the fund buys 5,000 AAA at 10, AAA triples, then the fund takes back 110,000."""
    fund = PortfolioAllocator(D(100_000), "returns")
    fund.add_strategy("tripler", BuyAndHold("AAA", 5000), D("0.5"))
    for i, price in enumerate(["10", "10", "30"]):
        fund.execute_bar(ts(i), market(i, AAA=price))
    assert fund.strategies["tripler"].current_value == D(150_000)
    fund.rebalance({"tripler": D("0.2")}, reason="take the gains")
    fund.execute_bar(ts(3), market(3, AAA="30"))
    return fund


def test_a_strategy_that_tripled_and_paid_out_shows_its_true_return() -> None:
    fund = tripled_and_paid_out()
    rec = fund.strategies["tripler"]
    assert rec.allocated_capital == D(50_000) - D(110_000)
    assert rec.current_value == D(40_000)
    assert rec.return_pct is None  # was 0 (shown as 0.00 %): a made-up figure
    assert rec.time_weighted_return == pytest.approx(2.0, abs=1e-12)
    metrics = fund.get_strategy_metrics()["tripler"]
    assert metrics["time_weighted_return"] == "200.00%"
    assert metrics["return_pct"] == "n/a"
    assert repr(rec) == (
        "StrategyAllocation(id=tripler, capital=-60000.00, value=40000.00, "
        "return=200.00%, state=running)"
    )


def test_return_on_capital_stays_a_percentage_while_capital_is_in() -> None:
    fund = PortfolioAllocator(D(100_000), "returns")
    fund.add_strategy("holder", BuyAndHold("AAA", 5000), D("0.5"))
    for i, price in enumerate(["10", "10", "11"]):
        fund.execute_bar(ts(i), market(i, AAA=price))
    rec = fund.strategies["holder"]
    assert rec.return_pct == D("0.1")
    assert rec.time_weighted_return == pytest.approx(0.1, abs=1e-12)
    metrics = fund.get_strategy_metrics()["holder"]
    assert (metrics["return_pct"], metrics["time_weighted_return"]) == ("10.00%", "10.00%")
