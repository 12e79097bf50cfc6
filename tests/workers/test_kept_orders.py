"""A strategy may keep the orders it placed (in its context, say) and read them on later
bars: restored from a snapshot, as after a crash or a shard's rebuild, they still follow the
ledger's orders, so the strategy decides as it would have without the interruption."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.market import Bar, Slice
from workers.host import LedgerConfig, StrategyHost, build_host

WAITS = "tests.support.rogue_strategies:WaitsForItsOrder"
START = datetime(2024, 1, 2, tzinfo=UTC)
PRICES = ("10", "10", "10", "9", "10", "10", "10", "10", "9.2", "10", "9", "10") * 2


def _slices() -> list[Slice]:
    days = [START + timedelta(days=i) for i in range(len(PRICES))]
    return [
        Slice(ts, {"AAA": Bar.flat(ts, "AAA", p, 10**6)})
        for ts, p in zip(days, PRICES, strict=True)
    ]


def _host() -> StrategyHost:
    host = build_host("waits", WAITS, {}, LedgerConfig(), 16)
    host.initialize()
    host.deposit(Decimal(10_000))
    return host


def _end(host: StrategyHost) -> tuple[object, ...]:
    context = host.context
    return host.ledger.to_state(), context.waited, context.placed, context.order.to_state()


@pytest.mark.parametrize("cut", [2, 3, 4, 6, 9, 11, 17])
def test_kept_orders_follow_the_ledger_after_a_restore(cut: int) -> None:
    slices = _slices()
    whole = _host()
    for market in slices:
        whole.step(market, trading=True)
    first = _host()
    for market in slices[:cut]:
        first.step(market, trading=True)
    again = _host()
    again.restore(first.snapshot())
    for market in slices[cut:]:
        again.step(market, trading=True)
    assert whole.context.placed > 4 and whole.context.waited > 4  # it waited and traded
    assert _end(again) == _end(whole)
