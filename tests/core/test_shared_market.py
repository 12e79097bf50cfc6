"""One slice (and, in `PortfolioAllocator`, one `data`) serves every strategy stepped in a
process: neither can be changed through what a strategy is handed, so what one strategy
does to it cannot move another's fills, in every driver alike."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

from core.history import BarData, MarketHistory
from core.market import Bar, Slice
from tests.support.drivers import START, Planned, flat_slices, run_every_driver

ROGUES = "tests.support.rogue_strategies"


def test_a_slice_and_its_data_refuse_changes() -> None:
    market = flat_slices(1)[0]
    data = BarData(market, MarketHistory(4))
    for obj, name in ((market, "ts"), (market, "_bars"), (data, "slice"), (data, "_bars")):
        with pytest.raises(AttributeError, match="is read-only"):
            setattr(obj, name, None)
        with pytest.raises(AttributeError, match="is read-only"):
            delattr(obj, name)
    with pytest.raises(AttributeError, match="Slice is read-only"):
        market.__init__(START, {})  # type: ignore[misc]
    with pytest.raises(AttributeError, match="BarData is read-only"):
        data.__init__(market, MarketHistory(4))  # type: ignore[misc]
    assert market.ts == START and data.slice is market and data["AAA"].close == 10


def test_a_read_only_slice_still_pickles_once_and_equals_its_copy() -> None:
    market = Slice(START, {"AAA": Bar.flat(START, "AAA", "10.25", 7)})
    again = pickle.loads(pickle.dumps(market))
    assert again == market and again.ts == START and again["AAA"].close == Decimal("10.25")
    assert market._pickled is not None and pickle.loads(pickle.dumps(again)) == market


@pytest.mark.usefixtures("ray")  # the "ray" driver's shards run on it
async def test_a_strategy_cannot_show_the_next_one_another_market_in_any_driver() -> None:
    plan = [
        Planned("rewrites", f"{ROGUES}:RewritesTheMarket", {}, Decimal("0.3")),
        Planned("steady", f"{ROGUES}:Steady", {}, Decimal("0.3")),
    ]
    reference = await run_every_driver(plan, flat_slices(3))
    assert reference.records["rewrites"][3] is None  # every change was refused
    steady = reference.ledgers["steady"]
    assert Decimal(steady["cash"]) == Decimal(30_000) - 5 * 10  # filled at the slice's 10
