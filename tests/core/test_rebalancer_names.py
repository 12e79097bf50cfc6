"""AllocationRebalancer: RustyBT's `last_rebalance` and paperfund's `last_rebalance_time`.

RustyBT's users and test suite read and set `rebalancer.last_rebalance`; both names must be
the same validated value, and snapshots pickled before the alias must still load.
"""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from core.allocation import FixedAllocation
from core.errors import InvalidInputError
from core.rebalancer import AllocationRebalancer, RebalancingFrequency

D = Decimal


def make(frequency: RebalancingFrequency = RebalancingFrequency.MONTHLY) -> AllocationRebalancer:
    algorithm = FixedAllocation({"a": D("0.5"), "b": D("0.5")})
    return AllocationRebalancer(algorithm, frequency, cooldown_days=7)


def test_setting_last_rebalance_is_honoured_by_should_rebalance() -> None:
    # RustyBT style: pretend a rebalance happened two days ago, then ask.
    rebalancer = make()
    now = datetime(2024, 3, 10)
    rebalancer.last_rebalance = now - timedelta(days=2)
    assert rebalancer.should_rebalance(now) == (False, "Cooldown period (2/7 days)")
    assert rebalancer.last_rebalance_time == now - timedelta(days=2)


def test_setting_last_rebalance_to_none_makes_the_next_check_initial() -> None:
    rebalancer = make()
    rebalancer.record_rebalance(datetime(2024, 3, 1), {"a": D("0.5"), "b": D("0.5")})
    assert rebalancer.should_rebalance(datetime(2024, 3, 2))[0] is False
    rebalancer.last_rebalance = None
    assert rebalancer.last_rebalance_time is None
    assert rebalancer.should_rebalance(datetime(2024, 3, 2)) == (True, "Initial rebalancing")


def test_both_names_read_the_value_the_other_wrote() -> None:
    rebalancer = make()
    assert rebalancer.last_rebalance is None
    first = datetime(2024, 1, 31, 16, 0)
    rebalancer.last_rebalance_time = first
    assert rebalancer.last_rebalance == first
    second = pd.Timestamp("2024-02-29T16:00:00Z")
    rebalancer.last_rebalance = second
    assert rebalancer.last_rebalance_time is second
    rebalancer.rebalance({}, datetime(2024, 4, 1))
    assert rebalancer.last_rebalance == datetime(2024, 4, 1)


@pytest.mark.parametrize(
    "bad", ["2024-03-01", date(2024, 3, 1), 1_709_251_200, 1.5, D("1"), object()]
)
@pytest.mark.parametrize("name", ["last_rebalance", "last_rebalance_time"])
def test_a_value_that_is_not_a_datetime_is_rejected_and_nothing_changes(
    name: str, bad: object
) -> None:
    rebalancer = make()
    kept = datetime(2024, 3, 1, tzinfo=UTC)
    rebalancer.last_rebalance = kept
    with pytest.raises(InvalidInputError, match="must be a datetime or None"):
        setattr(rebalancer, name, bad)
    assert rebalancer.last_rebalance is kept
    assert rebalancer.last_rebalance_time is kept


def test_the_alias_survives_pickling_and_state_round_trips() -> None:
    rebalancer = make()
    rebalancer.last_rebalance = datetime(2024, 3, 1)
    copy = pickle.loads(pickle.dumps(rebalancer))
    assert copy.last_rebalance == datetime(2024, 3, 1)
    assert copy == rebalancer
    rebuilt = AllocationRebalancer.from_state(rebalancer.to_state(), rebalancer.algorithm)
    assert rebuilt.last_rebalance == datetime(2024, 3, 1)


class _OldLayout:
    """Pickles like an AllocationRebalancer did before `last_rebalance` existed."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        return (object.__new__, (AllocationRebalancer,), self.state)


def test_a_snapshot_pickled_before_the_alias_still_loads() -> None:
    current = make()
    current.record_rebalance(datetime(2024, 3, 1), {"a": D("0.5"), "b": D("0.5")})
    old_state = dict(current.__dict__)
    old_state["last_rebalance_time"] = old_state.pop("_last_rebalance_time")
    loaded = pickle.loads(pickle.dumps(_OldLayout(old_state), protocol=5))
    assert isinstance(loaded, AllocationRebalancer)
    assert loaded.last_rebalance == datetime(2024, 3, 1)
    assert loaded.last_rebalance_time == datetime(2024, 3, 1)
    assert loaded.should_rebalance(datetime(2024, 3, 3)) == (False, "Cooldown period (2/7 days)")
    assert loaded == current
