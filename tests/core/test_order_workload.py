"""The order-path benchmark's guard, in CI: its workload through `PortfolioAllocator` and
through the hand-written loop (`tests.bench.order_workload`) ends with the same cash,
realised P&L, positions and average costs per strategy, and the same performance trackers,
to the digit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.bench.order_workload import (
    check_same,
    fund_books,
    hand_books,
    orders_placed,
    price_slices,
    run_framework,
    run_hand_written,
)

N, BARS = 3, 200


def test_the_framework_and_the_hand_written_loop_end_with_the_same_books() -> None:
    slices = price_slices(BARS, seed=1)
    _, fund = run_framework(slices, N)
    _, hand = run_hand_written(slices, N)
    assert orders_placed(fund) > N * BARS // 3  # trading-heavy: about one order in two bars
    books = fund_books(fund)
    assert books == hand_books(hand)
    for i, book in enumerate(hand):
        assert fund.book.records[f"s{i}"].performance.to_state() == book.perf.to_state()


def test_a_difference_of_one_cent_fails_the_check() -> None:
    slices = price_slices(50, seed=2)
    _, hand = run_hand_written(slices, N)
    books = hand_books(hand)
    cash, realized, positions = books["s1"]
    wrong = books | {"s1": (cash + Decimal("0.01"), realized, positions)}
    with pytest.raises(AssertionError, match="disagree for 1 strategies; s1"):
        check_same(wrong, books)
