"""Strategy code gets a capability-limited view of its ledger: orders, positions, cash,
value; nothing that moves money or positions outside a fill. The same in every driver."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

from core.history import BarData, MarketHistory
from core.ledger import Ledger
from core.step import StrategyContext, run_step
from core.strategy_ledger import FUND_ONLY, STRATEGY_API, StrategyLedger
from tests.support.drivers import CAPITAL, DRIVERS, Planned, flat_slices, run
from workers.loader import build_strategy

ROGUE = "tests.support.rogue_strategies:CallsFundOperation"
FUND_OPERATIONS = ("transfer_in", "transfer_out", "add_position", "release_positions", "liquidate")


@pytest.mark.parametrize("driver", DRIVERS)
async def test_a_strategy_cannot_transfer_money_in(driver: str) -> None:
    plan = [Planned("rogue", ROGUE, {"operation": "transfer_in"}, Decimal("0.5"))]
    result = await run(driver, plan, flat_slices(4))
    assert result.fund_value == CAPITAL
    _, _, _, last_error, errors, _ = result.records["rogue"]
    assert errors == 1
    assert last_error is not None and last_error.startswith("AttributeError: transfer_in is a")
    assert "fund operation" in last_error
    assert Decimal(result.ledgers["rogue"]["cash"]) == CAPITAL / 2


@pytest.mark.parametrize("operation", FUND_OPERATIONS)
def test_every_fund_operation_is_refused_by_the_view(operation: str) -> None:
    ledger = Ledger(1000)
    view = ledger.strategy_view()
    with pytest.raises(AttributeError, match="fund operation") as caught:
        getattr(view, operation)
    assert caught.value.name == operation
    assert ledger.cash == Decimal(1000)


def test_the_view_offers_exactly_the_strategy_api() -> None:
    public = {name for name in dir(StrategyLedger) if not name.startswith("_")}
    assert public == set(STRATEGY_API)
    assert not public & FUND_ONLY
    view = Ledger(1000).strategy_view()
    with pytest.raises(AttributeError, match="no attribute 'anything'"):
        view.anything  # noqa: B018
    with pytest.raises(AttributeError):
        view.extra = 1  # type: ignore[attr-defined]


def test_positions_are_copies_and_the_view_is_built_once() -> None:
    ledger = Ledger(1000)
    ledger.add_position("AAA", Decimal(10), Decimal(5), Decimal(5))
    view = ledger.strategy_view()
    assert view is ledger.strategy_view()
    copy = view.positions["AAA"]
    copy.amount = Decimal(1_000_000)
    copy.last_price = Decimal(1_000_000)
    assert ledger.positions["AAA"].amount == Decimal(10)
    assert view.portfolio_value == Decimal(1050)
    with pytest.raises(TypeError):
        view.positions["BBB"] = copy  # type: ignore[index]


def test_orders_through_the_view_are_the_ledgers() -> None:
    ledger = Ledger(1000)
    ledger.add_position("AAA", Decimal(10), Decimal(5), Decimal(5))
    view = ledger.strategy_view()
    order = view.order_target("AAA", 4)
    assert order is not None and order.amount == Decimal(-6)
    assert view.open_orders == ledger.open_orders == [order]
    view.cancel_order(order)
    assert ledger.open_orders == []
    assert (view.cash, view.positions_value) == (Decimal(1000), Decimal(50))
    assert view.allow_short is False


def test_a_ledger_pickled_before_views_existed_still_gets_one() -> None:
    ledger = Ledger(1000)
    del ledger.__dict__["_view"]  # what a ledger pickled by an earlier version holds
    restored = pickle.loads(pickle.dumps(ledger))
    market = flat_slices(1)[0]
    history = MarketHistory(10)
    history.append(market)
    strategy = build_strategy("tests.support.rogue_strategies:Steady", {})
    context = StrategyContext("s")
    strategy.initialize(context)  # type: ignore[attr-defined]
    report = run_step("s", strategy, context, restored, BarData(market, history), trading=True)
    assert (report.error, report.fault, report.orders) == (None, None, 1)
    again = pickle.loads(pickle.dumps(restored))  # the view travels with its ledger
    assert again.strategy_view() is again._view and again.strategy_view().cash == 1000
