"""Ledger: placing orders, filling them on the next slice, accounting, marking, persistence."""

from __future__ import annotations

import json
import pickle
from decimal import Decimal

import pytest

from core.costs import FixedBasisPoints, PerShare, PerTrade
from core.errors import InvalidInputError
from core.fills import FillModel
from core.ledger import DecimalLedger, Ledger
from core.orders import CLOSED_ORDERS_KEPT, Fill, Order, OrderBook, OrderStatus
from tests.core.ledger_support import D, bar, flat, market, ts


def _ledger(cash: int = 10_000, prices: dict[str, object] | None = None, **kw: object) -> Ledger:
    """A ledger that has seen day 0 (flat bars at `prices`, default A at 100)."""
    ledger = Ledger(cash, **kw)  # type: ignore[arg-type]
    ledger.process_slice(flat(0, prices or {"A": 100}))
    return ledger


def test_decimal_ledger_is_the_ledger() -> None:
    assert DecimalLedger is Ledger


def test_order_fills_at_the_next_slice_open() -> None:
    ledger = _ledger()
    order = ledger.order("A", 10)
    assert (order.id, order.created_ts, order.status) == (1, ts(0), OrderStatus.OPEN)
    assert ledger.open_orders == [order]
    fills = ledger.process_slice(market(1, bar(1, "A", 101, 103, 100, 102)))
    assert fills == [Fill(1, ts(1), "A", D(10), D(101), D(0), D(0))]
    assert order.status is OrderStatus.FILLED and ledger.open_orders == []
    assert ledger.cash == D(8990)
    position = ledger.positions["A"]
    assert (position.amount, position.cost_basis, position.last_price) == (10, 101, 102)
    assert ledger.portfolio_value == D(8990) + D(1020)
    assert ledger.last_ts == ts(1)


def test_order_ids_count_from_one() -> None:
    ledger = _ledger()
    assert [ledger.order("A", 1).id for _ in range(3)] == [1, 2, 3]


def test_no_bar_no_fill() -> None:
    ledger = _ledger(prices={"A": 100, "B": 50})
    order = ledger.order("A", 10)
    assert ledger.process_slice(flat(1, {"B": 51})) == []
    assert order.is_open and ledger.cash == 10_000
    assert ledger.process_slice(flat(2, {"A": 99}))[0].price == 99


def test_partial_fills_over_several_bars() -> None:
    ledger = _ledger()
    order = ledger.order("A", 25)
    filled = []
    for day in (1, 2, 3):
        fills = ledger.process_slice(flat(day, {"A": 100}, volume=400))  # cap 10 per bar
        filled.append([f.amount for f in fills])
    assert filled == [[D(10)], [D(10)], [D(5)]]
    assert order.filled == 25 and order.status is OrderStatus.FILLED
    assert ledger.positions["A"].amount == 25


def test_orders_for_one_asset_share_the_volume_cap_in_placement_order() -> None:
    ledger = _ledger()
    first, second = ledger.order("A", 8), ledger.order("A", 8)
    fills = ledger.process_slice(flat(1, {"A": 100}, volume=400))
    assert [(f.order_id, f.amount) for f in fills] == [(first.id, 8), (second.id, 2)]
    assert second.is_open and second.remaining == 6
    fills = ledger.process_slice(flat(2, {"A": 100}, volume=400))
    assert [(f.order_id, f.amount) for f in fills] == [(second.id, 6)]


def test_zero_volume_fills_nothing() -> None:
    ledger = _ledger()
    order = ledger.order("A", 1)
    assert ledger.process_slice(flat(1, {"A": 100}, volume=0)) == []
    assert order.is_open


def test_buy_beyond_cash_is_rejected_with_the_amounts() -> None:
    ledger = _ledger(cash=1000, commission=PerTrade(D(5)))
    order = ledger.order("A", 10)
    assert ledger.process_slice(flat(1, {"A": 101})) == []
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "insufficient cash: needs 1015.00, has 1000.00"
    assert ledger.cash == 1000 and not ledger.positions
    assert ledger.get_order(order.id) is order and ledger.open_orders == []


def test_rejection_keeps_earlier_partial_fills() -> None:
    ledger = _ledger(cash=1500)
    order = ledger.order("A", 25)
    ledger.process_slice(flat(1, {"A": 100}, volume=400))
    ledger.process_slice(flat(2, {"A": 100}, volume=400))
    assert order.status is OrderStatus.REJECTED and order.filled == 10
    assert ledger.cash == 500 and ledger.positions["A"].amount == 10


def test_negative_cash_when_allowed() -> None:
    ledger = _ledger(cash=100, allow_negative_cash=True)
    ledger.order("A", 10)
    ledger.process_slice(flat(1, {"A": 101}))
    assert ledger.cash == -910 and ledger.positions["A"].amount == 10


def test_short_sale_rejected_at_placement() -> None:
    ledger = _ledger()
    order = ledger.order("A", -5)
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "short selling not allowed: holds 0, sells 5"
    assert ledger.open_orders == [] and ledger.get_order(order.id) is order


def test_short_check_counts_open_sell_orders() -> None:
    ledger = _ledger()
    ledger.order("A", 10)
    ledger.process_slice(flat(1, {"A": 100}))
    assert ledger.order("A", -6).is_open
    assert ledger.order("A", 3).is_open  # open buys do not count
    rejected = ledger.order("A", -5)
    assert rejected.reason == "short selling not allowed: holds 10, sells 11"
    assert ledger.order("A", -4).is_open


def test_short_sale_rechecked_at_fill_time() -> None:
    ledger = _ledger(cash=1000)
    ledger.order("A", 10)
    ledger.process_slice(flat(1, {"A": 100}))
    sell = ledger.order("A", -10)
    ledger.transfer_out(500)  # sells 5 at the mark
    assert ledger.process_slice(flat(2, {"A": 100})) == []
    assert sell.status is OrderStatus.REJECTED
    assert sell.reason == "short selling not allowed: holds 5, sells 10"


def test_short_when_allowed_and_buy_back() -> None:
    ledger = _ledger(allow_short=True)
    ledger.order("A", -5)
    ledger.process_slice(flat(1, {"A": 100}))
    position = ledger.positions["A"]
    assert (position.amount, position.cost_basis, ledger.cash) == (-5, 100, 10_500)
    assert ledger.portfolio_value == 10_000
    ledger.order("A", 5)
    ledger.process_slice(flat(2, {"A": 90}))
    assert "A" not in ledger.positions
    assert ledger.realized_pnl == 50 and ledger.cash == 10_050


def test_flip_from_long_to_short() -> None:
    ledger = _ledger(allow_short=True)
    ledger.order("A", 10)
    ledger.process_slice(flat(1, {"A": 100}))
    ledger.order("A", -15)
    ledger.process_slice(flat(2, {"A": 110}))
    position = ledger.positions["A"]
    assert (position.amount, position.cost_basis) == (-5, 110)
    assert ledger.realized_pnl == 100


def test_average_cost_and_realized_pnl_gross_of_commission() -> None:
    ledger = _ledger(commission=PerTrade(D(1)))
    ledger.order("A", 10)
    ledger.process_slice(flat(1, {"A": 100}))
    ledger.order("A", 30)
    ledger.process_slice(flat(2, {"A": 104}))
    assert ledger.positions["A"].cost_basis == 103
    ledger.order("A", -20)
    ledger.process_slice(flat(3, {"A": 110}))
    position = ledger.positions["A"]
    assert (position.amount, position.cost_basis, position.realized_pnl) == (20, 103, 140)
    assert position.unrealized_pnl == 140 and ledger.realized_pnl == 140
    assert ledger.total_commission == 3


def test_cash_moves_by_fill_value_and_commission_only() -> None:
    ledger = _ledger(
        cash=100_000, commission=PerShare(), slippage=FixedBasisPoints(D(10)), allow_short=True
    )
    fills: list[Fill] = []
    script = [("A", 300, None), ("A", -120, "99"), ("A", -400, None), ("A", 220, "120")]
    for day, (asset, amount, limit) in enumerate(script, start=1):
        ledger.order(asset, amount, limit_price=limit)
        fills += ledger.process_slice(market(day, bar(day, asset, 100, 102, 98, 101)))
    assert len(fills) == 4
    paid = sum((f.value + f.commission for f in fills), D(0))
    assert ledger.cash == D(100_000) - paid
    assert ledger.total_commission == sum(f.commission for f in fills)
    assert ledger.total_slippage == sum(abs(f.price - 100) * abs(f.amount) for f in fills)
    assert fills[1].price == D("99.9")  # limit sell at the open less 10 bps, above its limit
    assert ledger.total_slippage > 0


def test_marking_keeps_the_last_price_without_a_bar() -> None:
    ledger = _ledger(prices={"A": 100, "B": 50})
    ledger.order("A", 10)
    ledger.order("B", 20)
    ledger.process_slice(flat(1, {"A": 100, "B": 50}))
    ledger.process_slice(flat(2, {"A": 110}))
    assert ledger.positions["A"].last_price == 110 and ledger.positions["B"].last_price == 50
    assert ledger.positions_value == 1100 + 1000
    assert ledger.portfolio_value == ledger.cash + 2100


def test_mark_only_marks() -> None:
    ledger = _ledger()
    ledger.order("A", 10)
    ledger.process_slice(flat(1, {"A": 100}))
    order = ledger.order("A", 1)
    ledger.mark(flat(2, {"A": 120}))
    assert ledger.positions["A"].last_price == 120 and ledger.positions_value == 1200
    assert order.is_open and ledger.last_ts == ts(1)


def test_order_value_rounds_toward_zero() -> None:
    ledger = _ledger(prices={"A": 30}, allow_short=True)
    assert ledger.order_value("A", 100).amount == 3
    assert ledger.order_value("A", -100).amount == -3
    with pytest.raises(InvalidInputError, match="no price"):
        ledger.order_value("Z", 100)


def test_order_target_counts_open_orders() -> None:
    ledger = _ledger(prices={"A": 30})
    ledger.order("A", 10)
    ledger.process_slice(flat(1, {"A": 30}))
    ledger.order("A", 5)
    assert ledger.order_target("A", 15) is None
    order = ledger.order_target("A", 12)
    assert order is not None and order.amount == -3


def test_order_target_value_and_percent() -> None:
    ledger = _ledger(prices={"A": 30})
    order = ledger.order_target_value("A", 1000)
    assert order is not None and order.amount == 33
    ledger.cancel_all_orders()
    order = ledger.order_target_percent("A", "0.5")  # 5000 / 30 = 166.67
    assert order is not None and order.amount == 166
    assert ledger.order_target_percent("A", "0.5") is None


def test_cancel_orders() -> None:
    ledger = _ledger()
    a, b, c = ledger.order("A", 1), ledger.order("A", 2), ledger.order("A", 3)
    ledger.cancel_order(a)
    ledger.cancel_order(b.id)
    assert (a.status, a.reason) == (OrderStatus.CANCELLED, "cancelled")
    assert ledger.open_orders == [c]
    assert ledger.cancel_all_orders("strategy paused") == 1
    assert c.reason == "strategy paused" and ledger.open_orders == []
    with pytest.raises(InvalidInputError):
        ledger.cancel_order(99)


def test_cancelling_a_filled_order_changes_nothing() -> None:
    ledger = _ledger()
    order = ledger.order("A", 1)
    ledger.process_slice(flat(1, {"A": 100}))
    ledger.cancel_order(order)
    assert order.status is OrderStatus.FILLED and order.reason is None


def test_closed_orders_record_is_bounded() -> None:
    ledger = _ledger()
    for _ in range(CLOSED_ORDERS_KEPT + 50):
        ledger.order("A", 1)
    ledger.cancel_all_orders()
    assert len(ledger.orders) == CLOSED_ORDERS_KEPT
    assert ledger.get_order(1) is None
    last = ledger.get_order(CLOSED_ORDERS_KEPT + 50)
    assert last is not None and last.status is OrderStatus.CANCELLED
    assert list(ledger.orders) == sorted(ledger.orders)


def test_an_order_book_pickled_with_its_closed_orders_by_id_still_loads() -> None:
    """Books pickled when the closed orders were a dict by id (worker snapshots) load, and
    go on evicting the oldest."""
    ledger = _ledger()
    for _ in range(CLOSED_ORDERS_KEPT):
        ledger.order("A", 1)
    ledger.cancel_all_orders()
    book = ledger._orders
    old = {"open": [], "closed": {o.id: o for o in book.closed}, "next_id": book.next_id}
    revived = OrderBook.__new__(OrderBook)
    revived.__setstate__((None, old))
    assert list(revived.closed) == list(book.closed)
    assert revived.to_state() == book.to_state()
    assert pickle.loads(pickle.dumps(book)).to_state() == book.to_state()
    revived.record(Order(book.next_id, "A", D(1), status=OrderStatus.CANCELLED))
    assert [o.id for o in revived.closed][:1] == [2] and len(revived.closed) == CLOSED_ORDERS_KEPT
    assert revived.get(1) is None and revived.get(book.next_id) is not None


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("A", 0), {}),
        (("A", 1.5), {}),
        (("A", "abc"), {}),
        (("A", float("nan")), {}),
        (("", 1), {}),
        (("A", 1), {"limit_price": 0}),
        (("A", 1), {"limit_price": -1}),
        (("A", 1), {"stop_price": float("nan")}),
        (("A", 1), {"stop_price": "x"}),
    ],
)
def test_invalid_orders_raise_and_change_nothing(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    ledger = _ledger()
    before = ledger.to_state()
    with pytest.raises(InvalidInputError):
        ledger.order(*args, **kwargs)  # type: ignore[arg-type]
    assert ledger.to_state() == before


def test_float_and_str_amounts_are_accepted() -> None:
    ledger = _ledger()
    assert ledger.order("A", 2.0).amount == 2
    assert ledger.order("A", "3", limit_price=99.5).limit_price == D("99.5")


def test_fractional_lots() -> None:
    ledger = _ledger(fill_model=FillModel(lot_size=D("0.001")))
    ledger.order("A", "0.125")
    ledger.process_slice(flat(1, {"A": 100}))
    assert ledger.positions["A"].amount == D("0.125") and ledger.cash == D("9987.5")
    with pytest.raises(InvalidInputError):
        ledger.order("A", "0.0005")


def _busy_ledger() -> Ledger:
    """A ledger with positions, flows, a partial fill, a triggered stop-limit and history."""
    ledger = _ledger(cash=50_000, prices={"A": 100, "B": 20}, commission=PerShare())
    ledger.order("A", 100)
    ledger.order("B", -5)  # rejected: no position
    ledger.process_slice(flat(1, {"A": 100, "B": 20}, volume=1000))
    ledger.order("B", 50, limit_price=19, stop_price="20.5")
    ledger.transfer_in("123.45")
    ledger.process_slice(
        market(2, bar(2, "A", 101, 102, 100, 101, 1000), bar(2, "B", 20, 21, 20, 21, 1000))
    )
    ledger.transfer_out(1000)
    return ledger


def test_busy_ledger_is_busy() -> None:
    ledger = _busy_ledger()
    assert [o.filled for o in ledger.open_orders] == [D(50), D(0)]
    assert ledger.open_orders[1].stop_triggered
    assert ledger.net_flows == D("-876.55") and len(ledger.orders) == 3


def test_state_round_trip_through_json() -> None:
    ledger = _busy_ledger()
    state = json.loads(json.dumps(ledger.to_state()))
    restored = Ledger.from_state(state, commission=PerShare())
    assert restored == ledger and restored.to_state() == ledger.to_state()
    assert restored.portfolio_value == ledger.portfolio_value
    for led in (ledger, restored):
        led.process_slice(market(3, bar(3, "A", 99, 100, 98, 99), bar(3, "B", 19, 19, 18, 18)))
        led.order("A", -10)
        led.process_slice(flat(4, {"A": 98, "B": 18}))
    assert restored == ledger


def test_equality_sees_every_difference() -> None:
    ledger, other = _busy_ledger(), _busy_ledger()
    assert ledger == other
    other.order("A", 1)
    assert ledger != other
    assert _busy_ledger() != Ledger(50_000)


def test_from_state_rejects_bad_state() -> None:
    state = _busy_ledger().to_state()
    with pytest.raises(InvalidInputError, match="version"):
        Ledger.from_state({**state, "version": 99})
    with pytest.raises(InvalidInputError):
        Ledger.from_state({**state, "cash": "lots"})
    with pytest.raises(InvalidInputError):
        Ledger.from_state({k: v for k, v in state.items() if k != "positions"})


def test_same_inputs_give_the_same_digits() -> None:
    def run() -> Ledger:
        ledger = _ledger(
            cash=12_345, commission=PerShare(), slippage=FixedBasisPoints(D(7)), allow_short=True
        )
        for day in range(1, 30):
            price = Decimal(100 + (day * 37) % 11) / 3
            ledger.order_target_percent("A", D(day % 5) / 5 - D("0.3"))
            ledger.process_slice(flat(day, {"A": price.quantize(D("0.0001"))}, volume=5000))
        return ledger

    first, second = run(), run()
    assert json.dumps(first.to_state()) == json.dumps(second.to_state())
    assert first.total_commission > 0 and first.total_slippage > 0
