"""Strategy code gets orders as read-only views (`core.order_view`): they follow the order
as it fills, and nothing set through them reaches what the order fills with."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

from core.ledger import Ledger
from core.order_view import OrderView
from core.orders import Order, OrderStatus
from tests.support.drivers import Planned, flat_slices, run_every_driver

ROGUES = "tests.support.rogue_strategies"
SLICES = flat_slices(2, price="10", volume=1_000_000)


def _funded() -> Ledger:
    """A ledger with 10,000 in cash that has seen one slice (AAA at 10)."""
    ledger = Ledger()
    ledger.transfer_in(Decimal(10_000))
    ledger.process_slice(SLICES[0])
    return ledger


def test_every_way_to_an_order_gives_a_view_that_refuses_changes() -> None:
    ledger = _funded()
    view = ledger.strategy_view()
    placed = view.order("AAA", 10, limit_price=20)
    found = (placed, view.get_order(placed.id), view.open_orders[0])
    targets = (
        view.order_value("AAA", 100),
        view.order_target("AAA", 30),
        view.order_target_value("AAA", 500),
        view.order_target_percent("AAA", Decimal("0.1")),
    )
    for order in (*found, *targets):
        assert type(order) is OrderView
        for name in ("amount", "limit_price", "commission", "status", "filled", "_order"):
            with pytest.raises(AttributeError, match="read-only to strategy code"):
                setattr(order, name, Decimal(1000))
        with pytest.raises(AttributeError, match="read-only"):
            del order.amount
    raw = ledger.get_order(placed.id)
    assert raw is not None and raw.amount == 10 and raw.limit_price == 20
    assert placed == raw and raw == placed and placed == found[1]
    assert placed != view.get_order(targets[0].id) and placed != "order 1"
    assert repr(placed).startswith("OrderView(id=1, asset='AAA', amount=Decimal('10')")


def test_a_view_follows_its_order_and_cancels_it() -> None:
    ledger = _funded()
    view = ledger.strategy_view()
    buy, other = view.order("AAA", 10), view.order("AAA", 5)
    assert buy.is_open and buy.remaining == 10 and buy.kind == "market" and buy.is_buy
    ledger.process_slice(SLICES[1])
    assert buy.status is OrderStatus.FILLED and buy.filled == 10 and not buy.is_open
    view.order("AAA", 1)
    view.cancel_order(view.open_orders[0])  # a view names its order, as an Order did
    assert view.open_orders == [] and other.status is OrderStatus.FILLED
    assert buy.to_state() == ledger.get_order(buy.id).to_state()  # type: ignore[union-attr]


def test_a_pickled_view_keeps_the_state_it_had() -> None:
    ledger = _funded()
    view = ledger.strategy_view().order("AAA", 10)
    again = pickle.loads(pickle.dumps(view))
    assert type(again) is OrderView and again == view and again.amount == 10
    ledger.cancel_all_orders("done")
    assert view.status is OrderStatus.CANCELLED and again.status is OrderStatus.OPEN
    assert isinstance(again._order, Order)


@pytest.mark.usefixtures("ray")  # the "ray" driver's shards run on it
async def test_an_order_fills_with_what_it_was_placed_with_in_every_driver() -> None:
    plan = [
        Planned("rewrites", f"{ROGUES}:RewritesItsOrder", {}, Decimal("0.4")),
        Planned("steady", f"{ROGUES}:Steady", {}, Decimal("0.3")),
    ]
    reference = await run_every_driver(plan, flat_slices(4))
    held = [(p["asset"], Decimal(p["amount"])) for p in reference.ledgers["rewrites"]["positions"]]
    assert held == [("AAA", 10)]
    assert reference.records["rewrites"][3] is None  # its checks on bar 2 passed: no error
