"""Values no float statistic can follow (a price from 1e-50 to 1e290, a value past float
range) saturate the statistics (`core.performance.GROWTH_LIMIT`) and never stop the fund:
the bar is recorded whole, the money stays exact, and the metrics read as finite numbers."""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core import PortfolioAllocator, StrategyPerformance
from core.market import Bar, Slice
from core.money import format_amount, format_money
from core.performance import GROWTH_LIMIT, NAV_LIMIT
from tests.support.drivers import Planned, run_every_driver
from workers.loader import build_strategy

ROGUES = "tests.support.rogue_strategies"

START = datetime(2024, 1, 2, tzinfo=UTC)
VALUES = ("1000", "1e-40", "1e260", "1e400", "1e-300", "-1e10", "5e307", "-1e320", "1000")


def test_returns_beyond_the_limits_saturate_the_statistics() -> None:
    perf = StrategyPerformance("s", lookback_window=20)
    for i, value in enumerate(VALUES):
        perf.update(START + timedelta(days=i), Decimal(value))
    assert list(perf.portfolio_values) == [Decimal(v) for v in VALUES]  # exact, every one
    assert max(perf.returns) == GROWTH_LIMIT - 1 and min(perf.returns) == -GROWTH_LIMIT - 1
    assert abs(perf.total_return) <= NAV_LIMIT + 1
    floats = (perf.volatility, perf.sharpe_ratio, perf.mean_return, perf.current_drawdown)
    assert all(math.isfinite(x) for x in floats), floats
    metrics = perf.get_metrics()
    assert metrics["current_value"] == "1000.00"
    again = StrategyPerformance.from_state(pickle.loads(pickle.dumps(perf.to_state())))
    assert again.get_metrics() == metrics


def test_money_of_any_size_formats_to_the_cent() -> None:
    huge = Decimal("123456789012345678901234567890.125")
    assert format_money(huge) == "123456789012345678901234567890.12"
    assert format_money(Decimal("1e90")) == "1" + "0" * 90 + ".00"
    assert format_amount(Decimal("-1e30")) == "-1," + ",".join(["000"] * 10) + ".00"
    # past CENTS_DIGITS an amount has no cents at the fund's 28 digits: it stays as it is,
    # where writing 1e999999999 out would take a billion characters
    assert format_money(Decimal("1e999999999")) == "1E+999999999"
    assert format_amount(Decimal("-2.5e120")) == "-2.5E+120"


def _soaring() -> list[Slice]:
    prices = ("1e-50", "1e-50", "1e290", "1e290", "3e-50", "1e308")
    days = [START + timedelta(days=i) for i in range(len(prices))]
    return [
        Slice(ts, {"AAA": Bar.flat(ts, "AAA", p, 10**6)})
        for ts, p in zip(days, prices, strict=True)
    ]


@pytest.mark.usefixtures("ray")  # the "ray" driver's shards run on it
async def test_a_soaring_strategy_is_recorded_whole_in_every_driver() -> None:
    plan = [
        Planned("soars", f"{ROGUES}:BuysOnFirstBar", {"amount": 10}, Decimal("0.4")),
        Planned("steady", f"{ROGUES}:Steady", {}, Decimal("0.3")),
    ]
    slices = _soaring()
    reference = await run_every_driver(plan, slices)
    assert reference.records["soars"][3:] == (None, 0, len(slices) + 1)  # no error, every bar
    position = reference.ledgers["soars"]["positions"][0]
    assert Decimal(position["amount"]) == 10 and Decimal(position["last_price"]) == Decimal("1e308")


def test_the_allocators_metrics_read_after_a_soaring_bar() -> None:
    fund = PortfolioAllocator(Decimal(100_000))
    fund.add_strategy(
        "soars", build_strategy(f"{ROGUES}:BuysOnFirstBar", {"amount": 10}), Decimal("0.5")
    )
    for market in _soaring():
        fund.execute_bar(market.ts, market)
    metrics = fund.get_strategy_metrics()["soars"]
    assert metrics["num_observations"] == 7
    assert Decimal(metrics["current_value"]) == Decimal("1.000000000000000000000000000E+309")
    assert fund.get_portfolio_metrics()


def test_a_flow_past_float_range_gives_no_spurious_return() -> None:
    perf = StrategyPerformance("s")
    perf.update(START, Decimal("1e307"))
    perf.record_flow(Decimal("1e400"))  # the base is now past float range, as is the value
    perf.update(START + timedelta(days=1), Decimal("1e400"))
    assert perf.returns == [0.0] and perf.total_return == 0.0
