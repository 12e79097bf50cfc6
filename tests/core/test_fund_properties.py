"""Properties of the fund under any sequence of operations (hypothesis)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import Ledger, PortfolioAllocator
from core.costs import FixedBasisPoints, PerShare
from tests.core.helpers import market, ts

M = Decimal("1000000")
SYMBOLS = ("AAA", "BBB")


class HashTrader:
    """Trades pseudo-randomly but deterministically from (strategy id, bar number)."""

    def initialize(self, context: Any) -> None:
        context.n = 0

    def handle_data(self, context: Any, data: Any, ledger: Any) -> None:
        context.n += 1
        digest = hashlib.sha256(f"{context.strategy_id}:{context.n}".encode()).digest()
        symbol = SYMBOLS[digest[0] % 2]
        if digest[1] % 3 == 0:
            ledger.order_target_percent(symbol, Decimal(digest[2] % 90) / 100)
        elif digest[1] % 3 == 1 and ledger.open_orders:
            ledger.cancel_order(ledger.open_orders[0])


def costly(_sid: str) -> Ledger:
    return Ledger(
        commission=PerShare(cost=Decimal("0.005"), min_trade_cost=Decimal("1")),
        slippage=FixedBasisPoints(bps=Decimal("3")),
    )


prices = st.decimals(min_value=Decimal("5"), max_value=Decimal("50"), places=2)
weights = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.5"), places=3)
ops = st.one_of(
    st.tuples(st.just("bar"), prices, prices),
    st.tuples(st.just("add"), st.integers(0, 4), weights),
    st.tuples(st.just("remove"), st.integers(0, 4), st.booleans()),
    st.tuples(st.just("pause"), st.integers(0, 4)),
    st.tuples(st.just("resume"), st.integers(0, 4)),
    st.tuples(st.just("rebalance"), st.dictionaries(st.integers(0, 4), weights, max_size=3)),
)


def apply(f: PortfolioAllocator, op: tuple, clock: list[int]) -> Decimal:
    """Apply one op; return the transaction costs it reported (0 for bars)."""
    kind = op[0]
    try:
        if kind == "bar":
            clock[0] += 1
            f.execute_bar(ts(clock[0]), market(clock[0], AAA=str(op[1]), BBB=str(op[2])))
        elif kind == "add":
            f.add_strategy(f"s{op[1]}", HashTrader(), op[2])
        elif kind == "remove":
            sid = f"s{op[1]}"
            if sid in f.strategies:
                value = f.strategies[sid].current_value
                return value - f.remove_strategy(sid, liquidate=op[2])
        elif kind == "pause":
            f.pause_strategy(f"s{op[1]}")
        elif kind == "resume":
            f.resume_strategy(f"s{op[1]}")
        else:
            return f.rebalance({f"s{k}": w for k, w in op[1].items()}).costs
    except ValueError:
        pass
    return Decimal(0)


def ledgers_value(f: PortfolioAllocator) -> Decimal:
    return f.reserve.portfolio_value + sum(
        (a.ledger.portfolio_value for a in f.strategies.values()), Decimal(0)
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, min_size=1, max_size=40))
def test_money_is_conserved_under_any_operation_sequence(sequence: list[tuple]) -> None:
    f = PortfolioAllocator(M, ledger_factory=costly)
    clock = [0]
    f.execute_bar(ts(0), market(0, AAA="10", BBB="20"))
    for op in sequence:
        before = f.total_capital
        costs = apply(f, op, clock)
        assert f.total_capital == ledgers_value(f)
        if op[0] != "bar":
            assert costs >= 0
            assert f.total_capital == before - costs
        assert f.reserve.cash >= 0
        assert all(a.ledger.cash >= 0 for a in f.strategies.values())
        assert sum(f.book.current_weights().values()) <= 1 + Decimal("1e-18")


def run(sequence: list[tuple]) -> PortfolioAllocator:
    f = PortfolioAllocator(M, ledger_factory=costly)
    clock = [0]
    f.execute_bar(ts(0), market(0, AAA="10", BBB="20"))
    for op in sequence:
        apply(f, op, clock)
    return f


@settings(max_examples=80, deadline=None)
@given(st.lists(ops, min_size=1, max_size=30))
def test_same_inputs_give_identical_funds(sequence: list[tuple]) -> None:
    one, two = run(sequence), run(sequence)
    assert one.reserve == two.reserve
    assert list(one.strategies) == list(two.strategies)
    for sid, a in one.strategies.items():
        b = two.strategies[sid]
        assert a.ledger == b.ledger
        assert a.performance == b.performance
        assert a.context == b.context
    assert one.get_portfolio_metrics() == two.get_portfolio_metrics()
    assert one.get_strategy_metrics() == two.get_strategy_metrics()
