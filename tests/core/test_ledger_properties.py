"""Property tests: random order and slice sequences never break the ledger's identities."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.costs import (
    BasisPoints,
    CommissionModel,
    FixedBasisPoints,
    NoCommission,
    NoSlippage,
    PerShare,
    PerTrade,
    SlippageModel,
    VolumeShareSlippage,
)
from core.errors import InsufficientFundsError, InvalidInputError
from core.ledger import Ledger
from core.market import Bar, Slice
from core.orders import Fill, OrderStatus
from tests.core.ledger_support import ts

ASSETS = ("A", "B")
CENT = Decimal("0.01")
COMMISSIONS: list[CommissionModel] = [
    NoCommission(),
    PerShare(),
    PerTrade(Decimal(1)),
    BasisPoints(Decimal(5)),
]
SLIPPAGES: list[SlippageModel] = [
    NoSlippage(),
    FixedBasisPoints(),
    VolumeShareSlippage(),
]


@st.composite
def bars(draw: st.DrawFn, day: int, asset: str) -> Bar:
    low = draw(st.integers(9000, 11000))
    high = low + draw(st.integers(0, 500))
    open_, close = (draw(st.integers(low, high)) for _ in range(2))
    volume = draw(st.one_of(st.none(), st.integers(0, 4000)))
    prices = (Decimal(c) * CENT for c in (open_, high, low, close))
    return Bar.of(ts(day), asset, *prices, volume)


@st.composite
def slices(draw: st.DrawFn, day: int) -> Slice:
    present = draw(st.lists(st.sampled_from(ASSETS), unique=True))
    return Slice(ts(day), {a: draw(bars(day, a)) for a in present})


prices = st.integers(9000, 11500).map(lambda c: Decimal(c) * CENT)
KINDS = ("order",) * 8 + ("target", "transfer_in", "transfer_out", "cancel", "liquidate")


@st.composite
def actions(draw: st.DrawFn) -> tuple[object, ...]:
    """Mostly orders; now and then a target, transfer, cancellation or liquidation."""
    kind = draw(st.sampled_from(KINDS))
    if kind == "order":
        amount = draw(st.integers(-150, 150).filter(bool))
        limit, stop = (draw(st.one_of(st.none(), prices)) for _ in range(2))
        return (kind, draw(st.sampled_from(ASSETS)), amount, limit, stop)
    if kind == "target":
        return (kind, draw(st.sampled_from(ASSETS)), draw(st.integers(-5, 10)))
    if kind in ("transfer_in", "transfer_out"):
        return (kind, draw(st.integers(1, 20_000)))
    if kind == "cancel":
        return (kind, draw(st.integers(0, 40)))
    return (kind,)


@dataclass
class Scenario:
    cash: int
    commission: CommissionModel
    slippage: SlippageModel
    allow_short: bool
    allow_negative_cash: bool
    steps: list[tuple[Slice, list[tuple[object, ...]]]]

    def ledger(self) -> Ledger:
        return Ledger(
            self.cash,
            commission=self.commission,
            slippage=self.slippage,
            allow_short=self.allow_short,
            allow_negative_cash=self.allow_negative_cash,
        )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    days = draw(st.integers(1, 12))
    steps = [(draw(slices(day)), draw(st.lists(actions(), max_size=5))) for day in range(days)]
    return Scenario(
        draw(st.integers(0, 30_000)),
        draw(st.sampled_from(COMMISSIONS)),
        draw(st.sampled_from(SLIPPAGES)),
        draw(st.booleans()),
        draw(st.booleans()),
        steps,
    )


def _act(ledger: Ledger, action: tuple[object, ...]) -> list[Fill]:
    """Apply one action; returns the fills it made and checks transfer conservation."""
    kind = action[0]
    if kind == "order":
        _, asset, amount, limit, stop = action
        ledger.order(asset, amount, limit_price=limit, stop_price=stop)  # type: ignore[arg-type]
    elif kind == "target":
        try:
            ledger.order_target_percent(action[1], Decimal(action[2]) / 10)  # type: ignore[arg-type]
        except InvalidInputError as exc:
            assert "no price" in str(exc)
    elif kind == "transfer_in":
        ledger.transfer_in(action[1])  # type: ignore[arg-type]
    elif kind == "transfer_out":
        before, state = ledger.portfolio_value, ledger.to_state()
        try:
            result = ledger.transfer_out(action[1])  # type: ignore[arg-type]
        except InsufficientFundsError:
            assert ledger.to_state() == state
            return []
        assert ledger.portfolio_value == before - result.amount - result.costs
        return list(result.fills)
    elif kind == "cancel":
        open_orders = ledger.open_orders
        if open_orders:
            ledger.cancel_order(open_orders[action[1] % len(open_orders)])  # type: ignore[operator]
    else:
        before = ledger.portfolio_value
        result = ledger.liquidate()
        assert ledger.portfolio_value == before - result.costs
        return list(result.fills)
    return []


def _check(ledger: Ledger, scenario: Scenario, fills: list[Fill]) -> None:
    marked = sum((p.amount * p.last_price for p in ledger.positions.values()), Decimal(0))
    assert ledger.positions_value == marked
    assert ledger.portfolio_value == ledger.cash + marked
    spent = sum((f.value + f.commission for f in fills), Decimal(0))
    assert ledger.cash == scenario.cash + ledger.net_flows - spent
    assert ledger.total_commission == sum((f.commission for f in fills), Decimal(0))
    assert ledger.total_slippage == sum((f.slippage for f in fills), Decimal(0))
    assert all(p.amount != 0 for p in ledger.positions.values())
    if not scenario.allow_short:
        assert all(p.amount > 0 for p in ledger.positions.values())
        if not scenario.allow_negative_cash:
            assert ledger.cash >= 0
    for order in ledger.open_orders:
        assert order.status is OrderStatus.OPEN
        assert 0 <= order.filled / order.amount < 1


def _run(scenario: Scenario, *, check: bool) -> Ledger:
    ledger = scenario.ledger()
    fills: list[Fill] = []
    for market, step_actions in scenario.steps:
        fills += ledger.process_slice(market)
        if check:
            _check(ledger, scenario, fills)
        for action in step_actions:
            fills += _act(ledger, action)
            if check:
                _check(ledger, scenario, fills)
    return ledger


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_accounting_identities_hold(scenario: Scenario) -> None:
    _run(scenario, check=True)


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_replay_and_restore_give_the_same_ledger(scenario: Scenario) -> None:
    ledger = _run(scenario, check=False)
    again = _run(scenario, check=False)
    assert json.dumps(ledger.to_state()) == json.dumps(again.to_state())
    state = json.loads(json.dumps(ledger.to_state()))
    assert Ledger.from_state(state) == ledger
