"""min_transfer_pct: a rebalance skips the transfers smaller than that fraction of the fund's
value, lists them in the record, and keeps the fund's money exact; a target of 0 always
empties the strategy (skipping its remainder would strand capital)."""

from __future__ import annotations

import copy
import pickle
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import PortfolioAllocator
from core.rebalancer import AllocationRebalancer, RebalancingFrequency
from core.records import RebalanceRecord
from tests.core.helpers import market, ts
from tests.core.strategies import BuyAndHold, Idle
from tests.core.test_rebalance import costly, invested_fund, snapshot

D = Decimal
M = D(1_000_000)
HALF_PCT = D("0.005")  # 5,000 of a 1,000,000 fund


def idle_fund() -> PortfolioAllocator:
    fund = PortfolioAllocator(M, "skips")
    fund.add_strategy("a", Idle(), D("0.5"))
    fund.add_strategy("b", Idle(), D("0.4"))
    fund.execute_bar(ts(0), market(0, AAA="10"))
    return fund


def test_a_small_drift_below_the_threshold_moves_nothing_and_is_listed() -> None:
    fund = idle_fund()
    record = fund.rebalance(
        {"a": D("0.502"), "b": D("0.35")}, reason="drift", min_transfer_pct=HALF_PCT
    )
    assert record.skipped == {"a": D("2000.00")}  # 0.2 % of the fund: not worth a transfer
    assert record.transfers == {"b": D("-50000.00")}
    assert fund.strategies["a"].current_value == D(500_000)
    assert fund.strategies["a"].allocated_capital == D(500_000)
    assert fund.strategies["b"].current_value == D(350_000)
    assert fund.reserve.cash == D(150_000)  # the reserve keeps what a would have taken
    assert fund.total_capital == M == record.fund_value_after
    assert record.targets == {"a": D("0.502"), "b": D("0.35")}
    assert fund.rebalance_history[-1].skipped == {"a": D("2000.00")}


def test_withdrawals_below_the_threshold_are_skipped_with_their_sign() -> None:
    fund = idle_fund()
    record = fund.rebalance({"a": D("0.499"), "b": D("0.45")}, min_transfer_pct=HALF_PCT)
    assert record.skipped == {"a": D("-1000.00")}
    assert record.transfers == {"b": D("50000.00")}
    assert fund.strategies["a"].current_value == D(500_000)


def test_a_transfer_of_exactly_the_threshold_is_made() -> None:
    fund = idle_fund()
    record = fund.rebalance({"a": D("0.505")}, min_transfer_pct=HALF_PCT)
    assert (record.transfers, record.skipped) == ({"a": D("5000.00")}, {})


def test_without_a_threshold_every_transfer_is_made() -> None:
    fund = idle_fund()
    record = fund.rebalance({"a": D("0.502"), "b": D("0.35")})
    assert record.transfers == {"a": D("2000.00"), "b": D("-50000.00")}
    assert record.skipped == {}


def test_a_target_of_zero_empties_the_strategy_however_small_it_is() -> None:
    fund = idle_fund()
    fund.add_strategy("tiny", Idle(), D("0.001"))  # 1,000: below 0.5 % of the fund
    record = fund.rebalance({"tiny": D(0)}, min_transfer_pct=HALF_PCT)
    assert record.transfers == {"tiny": D("-1000.00")}
    assert record.skipped == {}
    assert fund.strategies["tiny"].current_value == 0


@pytest.mark.parametrize("bad", [D("-0.01"), D("1.5"), "lots", float("nan")])
def test_an_invalid_threshold_is_rejected_before_anything_moves(bad: Any) -> None:
    fund = invested_fund()
    before = snapshot(fund)
    with pytest.raises(ValueError, match="min_transfer_pct"):
        fund.rebalance({"a": D("0.1")}, min_transfer_pct=bad)
    assert snapshot(fund) == before


@settings(max_examples=40, deadline=None)
@given(
    a=st.decimals(D("0.3"), D("0.5"), places=4),
    b=st.decimals(D("0.2"), D("0.4"), places=4),
    c=st.decimals(D(0), D("0.1"), places=4),
    threshold=st.decimals(D(0), D("0.05"), places=4),
    price=st.decimals(D("8"), D("12"), places=2),
)
def test_skipping_keeps_the_fund_exact_with_costs(
    a: Decimal, b: Decimal, c: Decimal, threshold: Decimal, price: Decimal
) -> None:
    fund = PortfolioAllocator(M, ledger_factory=costly)
    fund.add_strategy("a", BuyAndHold("AAA", 24000), "0.4")
    fund.add_strategy("b", BuyAndHold("BBB", 10000), "0.3")
    fund.add_strategy("c", Idle(), "0.2")
    fund.execute_bar(ts(0), market(0, AAA="10", BBB="20"))
    fund.execute_bar(ts(1), market(1, AAA=str(price), BBB="20"))
    values = {sid: rec.current_value for sid, rec in fund.strategies.items()}
    before = fund.total_capital
    targets = {"a": a, "b": b, "c": c}
    plan = fund.book.plan_rebalance(targets, "check", min_transfer_pct=threshold)
    for sid, amount in [*plan.withdrawals, *plan.deposits]:
        assert amount is None or amount >= threshold * before, sid
    record = fund.rebalance(targets, min_transfer_pct=threshold)
    assert record.skipped == dict(plan.skipped)
    assert fund.total_capital == before - record.costs == record.fund_value_after
    assert set(record.skipped).isdisjoint(record.transfers)
    for sid, amount in record.skipped.items():
        assert 0 < abs(amount) < threshold * before
        assert fund.strategies[sid].current_value == values[sid]  # left where it was


def test_the_rebalancer_threshold_in_the_core_loop() -> None:
    """The README's loop: the rebalancer's min_transfer_pct handed to the fund."""
    fund = idle_fund()
    rebalancer = AllocationRebalancer(
        _Weights({"a": D("0.502"), "b": D("0.35")}),
        RebalancingFrequency.MONTHLY,
        min_transfer_pct=HALF_PCT,
    )
    due, reason = rebalancer.should_rebalance(ts(1))
    assert due
    targets = rebalancer.rebalance({}, ts(1))
    record = fund.rebalance(targets, reason=reason, min_transfer_pct=rebalancer.min_transfer_pct)
    assert record.skipped == {"a": D("2000.00")}
    assert rebalancer.is_material_transfer(D("2000.00"), M) is False


def test_rebalance_if_due_applies_the_rebalancer_threshold() -> None:
    """The README's core loop (`rebalance_if_due`) skips like an explicit rebalance does."""
    fund = idle_fund()
    rebalancer = AllocationRebalancer(
        _Weights({"a": D("0.502"), "b": D("0.35")}),
        RebalancingFrequency.MONTHLY,
        min_transfer_pct=HALF_PCT,
    )
    record = fund.rebalance_if_due(rebalancer, ts(1))
    assert record is not None
    assert record.skipped == {"a": D("2000.00")}
    assert record.transfers == {"b": D("-50000.00")}
    assert fund.strategies["a"].current_value == D(500_000)
    assert fund.total_capital == M


class _Weights:
    def __init__(self, weights: dict[str, Decimal]) -> None:
        self.weights = weights

    def calculate_allocations(self, strategies: dict[str, Any]) -> dict[str, Decimal]:
        return dict(self.weights)


def test_a_record_pickled_before_skipped_existed_still_loads() -> None:
    fund = idle_fund()
    record = fund.rebalance({"a": D("0.45")})
    old_state = {k: v for k, v in record.__dict__.items() if k != "skipped"}
    loaded = pickle.loads(pickle.dumps(_OldRecord(old_state), protocol=5))
    assert isinstance(loaded, RebalanceRecord)
    assert loaded.skipped == {}
    assert loaded == record
    assert copy.deepcopy(record) == record


class _OldRecord:
    """Pickles like a RebalanceRecord did before `skipped` existed."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        return (object.__new__, (RebalanceRecord,), self.state)
