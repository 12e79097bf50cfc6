"""The daemon's view of a strategy's return: the time-weighted return is the headline of
/v1/strategies, the summary, the report and the return gauge; the return on the net capital
put in is labelled as such and null / 'n/a' once more was withdrawn than put in."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from daemon.control.metrics_strategies import strategy_families
from daemon.report import _summary_html
from daemon.summary import print_summary
from tests.support.fund import Fund
from tests.support.small_fund import get_json, price_slices, served, small_fund_settings

TRIPLER = "tests.workers.sample_strategies:Leveraged"


@pytest.mark.parametrize("worker", ["inprocess", "process"])
async def test_a_strategy_that_tripled_and_paid_out(tmp_path: Path, worker: str) -> None:
    strategy = {
        "id": "tripler",
        "class": TRIPLER,
        "params": {"shares": 5000, "symbol": "AAA"},
        "allocation": 0.5,
        "worker": worker,
    }
    settings = small_fund_settings(tmp_path, [strategy])
    slices = price_slices(["10", "10", "30", "30"])
    async with Fund(settings, tmp_path / "state") as fund:
        for market in slices[:3]:
            await fund.sup.process(market)
        rebalance = {"type": "rebalance", "command_id": "take", "weights": {"tripler": "0.2"}}
        outcome = await fund.send(**rebalance)
        assert outcome.status == "applied", outcome
        await fund.sup.process(slices[3])

        async with served(fund) as client:
            view = await get_json(client, "/v1/strategies/tripler")
        assert Decimal(view["allocated_capital"]) == Decimal(-60_000)
        assert Decimal(view["value"]) == Decimal(40_000)
        assert view["return_on_capital"] is None  # was "0": a made-up figure
        assert Decimal(view["return"]) == pytest.approx(Decimal(2), abs=Decimal("1e-12"))

        engine = fund.sup._engine
        gauge = next(
            f for f in strategy_families(engine) if f.name == "paperfund_strategy_return_ratio"
        )
        assert gauge.values == [pytest.approx(2.0, abs=1e-12)]

        lines: list[str] = []
        print_summary(engine.book, "small", lines.append)
        row = next(line for line in lines if line.strip().startswith("tripler"))
        assert row.split()[1:4] == ["40,000.00", "200.00%", "n/a"]
        assert "<td>200.00%</td><td>n/a</td>" in _summary_html(engine.book)
