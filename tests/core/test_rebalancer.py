"""AllocationRebalancer: trigger order, calendar periods, cooldowns, drift, snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from core.errors import InvalidInputError
from core.performance import StrategyPerformance
from core.rebalancer import AllocationRebalancer, RebalancingFrequency
from core.records import RebalanceTrigger

D = Decimal
DAILY = RebalancingFrequency.DAILY
WEEKLY = RebalancingFrequency.WEEKLY
MONTHLY = RebalancingFrequency.MONTHLY
QUARTERLY = RebalancingFrequency.QUARTERLY
CUSTOM = RebalancingFrequency.CUSTOM


class FixedWeights:
    """A stand-in allocation algorithm that records what it was asked."""

    def __init__(self, weights: dict[str, Decimal]) -> None:
        self.weights = weights
        self.calls: list[dict[str, StrategyPerformance]] = []

    def calculate_allocations(self, strategies: dict[str, StrategyPerformance]) -> dict[str, D]:
        self.calls.append(strategies)
        return dict(self.weights)


def make(
    frequency: RebalancingFrequency = MONTHLY, **kwargs: object
) -> tuple[AllocationRebalancer, FixedWeights]:
    algorithm = FixedWeights({"a": D("0.5"), "b": D("0.5")})
    return AllocationRebalancer(algorithm, frequency, **kwargs), algorithm  # type: ignore[arg-type]


def rebalanced_at(
    when: datetime, frequency: RebalancingFrequency, **kwargs: object
) -> AllocationRebalancer:
    rebalancer, _ = make(frequency, **kwargs)
    rebalancer.record_rebalance(when, {"a": D("0.5"), "b": D("0.5")})
    return rebalancer


# ------------------------------------------------------------------ order


def test_first_check_is_the_initial_rebalancing() -> None:
    rebalancer, _ = make(drift_threshold=D("0.05"))
    assert rebalancer.should_rebalance(datetime(2024, 1, 5)) == (True, "Initial rebalancing")


def test_rebalance_asks_the_algorithm_and_records_the_targets() -> None:
    rebalancer, algorithm = make()
    perf = {"a": StrategyPerformance("a"), "b": StrategyPerformance("b")}
    when = datetime(2024, 3, 1)
    assert rebalancer.rebalance(perf, when) == {"a": D("0.5"), "b": D("0.5")}
    assert algorithm.calls == [perf]
    assert rebalancer.last_rebalance_time == when
    assert rebalancer.last_target_allocations == {"a": D("0.5"), "b": D("0.5")}
    assert rebalancer.should_rebalance(when + timedelta(days=8)) == (
        False,
        "No trigger conditions met",
    )


def test_cooldown_is_reported_in_days_like_the_seed() -> None:
    rebalancer = rebalanced_at(datetime(2024, 1, 30), MONTHLY, cooldown_days=7)
    # February's first bar is inside the cooldown: the cooldown wins over the calendar.
    assert rebalancer.should_rebalance(datetime(2024, 2, 1)) == (
        False,
        "Cooldown period (2/7 days)",
    )
    assert rebalancer.should_rebalance(datetime(2024, 1, 31)) == (
        False,
        "Cooldown period (1/7 days)",
    )
    assert rebalancer.should_rebalance(datetime(2024, 1, 30, 12)) == (
        False,
        "Cooldown period (0.5/7 days)",
    )
    assert rebalancer.should_rebalance(datetime(2024, 2, 6)) == (True, "Monthly rebalancing")


def test_cooldown_blocks_drift_too() -> None:
    rebalancer = rebalanced_at(datetime(2024, 1, 10), MONTHLY, drift_threshold=D("0.05"))
    current = {"a": D("0.9"), "b": D("0.1")}
    assert rebalancer.should_rebalance(datetime(2024, 1, 12), current)[0] is False
    assert rebalancer.should_rebalance(datetime(2024, 1, 17), current) == (
        True,
        "Allocation drift (40.0% > 5.0%)",
    )


def test_check_names_the_trigger_from_a_closed_set() -> None:
    fresh, _ = make(drift_threshold=D("0.05"))
    assert fresh.check(datetime(2024, 1, 5)) == (RebalanceTrigger.INITIAL, "Initial rebalancing")
    rebalancer = rebalanced_at(datetime(2024, 1, 10), MONTHLY, drift_threshold=D("0.05"))
    current = {"a": D("0.9"), "b": D("0.1")}
    assert rebalancer.check(datetime(2024, 1, 12), current)[0] is None  # cooldown
    assert rebalancer.check(datetime(2024, 1, 17), current)[0] is RebalanceTrigger.DRIFT
    assert rebalancer.check(datetime(2024, 2, 1))[0] is RebalanceTrigger.CALENDAR


# --------------------------------------------------------------- calendar


@pytest.mark.parametrize(
    ("last", "now", "fires"),
    [
        (datetime(2023, 12, 15), datetime(2024, 1, 2), True),  # across the year boundary
        (datetime(2023, 1, 10), datetime(2024, 1, 10), True),  # same month, a year later
        (datetime(2024, 1, 20), datetime(2024, 2, 5), True),  # first bar of the month is the 5th
        (datetime(2024, 1, 2), datetime(2024, 1, 29), False),
    ],
)
def test_monthly(last: datetime, now: datetime, fires: bool) -> None:
    reason = "Monthly rebalancing" if fires else "No trigger conditions met"
    assert rebalanced_at(last, MONTHLY).should_rebalance(now) == (fires, reason)


@pytest.mark.parametrize(
    ("last", "now", "fires"),
    [
        (datetime(2024, 1, 5), datetime(2024, 1, 9), True),  # Tuesday after a Monday holiday
        (datetime(2024, 1, 9), datetime(2024, 1, 12), False),  # same ISO week
        (datetime(2025, 12, 26), datetime(2025, 12, 31), True),  # ISO 2025-W52 → 2026-W01
        (datetime(2024, 1, 1), datetime(2025, 1, 1), True),  # week 1 of two different years
    ],
)
def test_weekly(last: datetime, now: datetime, fires: bool) -> None:
    reason = "Weekly rebalancing" if fires else "No trigger conditions met"
    assert rebalanced_at(last, WEEKLY).should_rebalance(now) == (fires, reason)


@pytest.mark.parametrize(
    ("last", "now", "fires"),
    [
        (datetime(2024, 2, 1), datetime(2024, 3, 29), False),
        (datetime(2024, 2, 1), datetime(2024, 4, 2), True),
        (datetime(2023, 12, 1), datetime(2024, 1, 3), True),
        (datetime(2023, 2, 1), datetime(2024, 2, 1), True),
    ],
)
def test_quarterly(last: datetime, now: datetime, fires: bool) -> None:
    reason = "Quarterly rebalancing" if fires else "No trigger conditions met"
    assert rebalanced_at(last, QUARTERLY).should_rebalance(now) == (fires, reason)


def test_daily_fires_on_the_next_days_first_bar() -> None:
    rebalancer = rebalanced_at(datetime(2024, 1, 2, 15, 59), DAILY)
    assert rebalancer.should_rebalance(datetime(2024, 1, 2, 16, 0)) == (
        False,
        "No trigger conditions met",
    )
    assert rebalancer.should_rebalance(datetime(2024, 1, 3, 9, 30)) == (True, "Daily rebalancing")


def test_custom_has_no_calendar_trigger() -> None:
    rebalancer = rebalanced_at(datetime(2024, 1, 2), CUSTOM)
    assert rebalancer.should_rebalance(datetime(2025, 6, 1)) == (
        False,
        "No trigger conditions met",
    )


def test_intraday_bars_with_a_fractional_cooldown() -> None:
    start = pd.Timestamp("2024-03-04 09:30", tz="America/New_York")
    rebalancer = rebalanced_at(start, DAILY, cooldown_days=0.25, drift_threshold=D("0.05"))
    drifted = {"a": D("0.6"), "b": D("0.4")}
    assert rebalancer.should_rebalance(start + pd.Timedelta(minutes=60), drifted) == (
        False,
        "Cooldown period (0.04/0.25 days)",
    )
    assert rebalancer.should_rebalance(start + pd.Timedelta(hours=5, minutes=59), drifted)[0] is (
        False
    )
    assert rebalancer.should_rebalance(start + pd.Timedelta(hours=6), drifted) == (
        True,
        "Allocation drift (10.0% > 5.0%)",
    )
    assert rebalancer.should_rebalance(start + pd.Timedelta(days=1)) == (True, "Daily rebalancing")


# -------------------------------------------------------------- cooldowns


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [(DAILY, 0), (WEEKLY, 1), (MONTHLY, 7), (QUARTERLY, 7), (CUSTOM, 7)],
)
def test_default_cooldown_fits_the_frequency(
    frequency: RebalancingFrequency, expected: float
) -> None:
    rebalancer, _ = make(frequency)
    assert rebalancer.cooldown_days == expected


def test_default_daily_rebalancer_fires_every_day() -> None:
    rebalancer = rebalanced_at(datetime(2024, 1, 2), DAILY)
    assert rebalancer.should_rebalance(datetime(2024, 1, 3)) == (True, "Daily rebalancing")


@pytest.mark.parametrize(
    ("frequency", "cooldown"),
    [(DAILY, 7), (DAILY, 1), (WEEKLY, 7), (WEEKLY, 10), (MONTHLY, 30), (QUARTERLY, 90)],
)
def test_a_cooldown_that_would_change_the_frequency_is_rejected(
    frequency: RebalancingFrequency, cooldown: float
) -> None:
    with pytest.raises(InvalidInputError, match=rf"cooldown_days={cooldown}.*{frequency.value}"):
        make(frequency, cooldown_days=cooldown)


@pytest.mark.parametrize(
    ("frequency", "cooldown"), [(DAILY, 0.5), (WEEKLY, 6.5), (MONTHLY, 7), (CUSTOM, 365)]
)
def test_explicit_cooldowns_shorter_than_the_period_are_kept(
    frequency: RebalancingFrequency, cooldown: float
) -> None:
    rebalancer, _ = make(frequency, cooldown_days=cooldown)
    assert rebalancer.cooldown_days == cooldown


def test_no_cooldown() -> None:
    rebalancer = rebalanced_at(datetime(2024, 1, 31, 16), MONTHLY, cooldown_days=None)
    assert rebalancer.cooldown_days == 0
    assert rebalancer.should_rebalance(datetime(2024, 2, 1, 9, 30)) == (
        True,
        "Monthly rebalancing",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cooldown_days": -1},
        {"cooldown_days": float("nan")},
        {"cooldown_days": True},
        {"drift_threshold": D("-0.01")},
        {"min_transfer_pct": D("-0.01")},
        {"min_transfer_pct": D("1.5")},
        {"frequency": "hourly"},
    ],
)
def test_invalid_configuration_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # InvalidInputError is a ValueError, as the seed documents
        AllocationRebalancer(FixedWeights({}), **kwargs)  # type: ignore[arg-type]


def test_frequency_accepts_its_string_value() -> None:
    rebalancer = AllocationRebalancer(FixedWeights({}), "weekly")  # type: ignore[arg-type]
    assert rebalancer.frequency is WEEKLY


# ------------------------------------------------------------------ drift


def test_seed_example_18_drift() -> None:
    rebalancer = rebalanced_at(datetime(2024, 5, 2), MONTHLY, drift_threshold=D("0.05"))
    targets = {"momentum": D("0.33"), "mean_rev": D("0.33"), "trend": D("0.34")}
    current = {"momentum": D("0.40"), "mean_rev": D("0.30"), "trend": D("0.30")}
    assert rebalancer.should_rebalance(datetime(2024, 5, 20), current, targets) == (
        True,
        "Allocation drift (7.0% > 5.0%)",
    )


def test_drift_must_be_strictly_greater_than_the_threshold() -> None:
    rebalancer = rebalanced_at(datetime(2024, 5, 2), MONTHLY, drift_threshold=D("0.05"))
    targets = {"a": D("0.33"), "b": D("0.67")}
    at_threshold = {"a": D("0.38"), "b": D("0.62")}
    above = {"a": D("0.3801"), "b": D("0.6199")}
    when = datetime(2024, 5, 20)
    assert rebalancer.should_rebalance(when, at_threshold, targets) == (
        False,
        "No trigger conditions met",
    )
    assert rebalancer.should_rebalance(when, above, targets) == (
        True,
        "Allocation drift (5.0% > 5.0%)",
    )


def test_drift_uses_the_last_targets_when_none_are_given() -> None:
    rebalancer, _ = make(drift_threshold=D("0.05"))
    rebalancer.rebalance({}, datetime(2024, 5, 2))
    current = {"a": D("0.6"), "b": D("0.4")}
    assert rebalancer.should_rebalance(datetime(2024, 5, 20), current) == (
        True,
        "Allocation drift (10.0% > 5.0%)",
    )


def test_drift_counts_missing_ids_as_zero() -> None:
    rebalancer = rebalanced_at(datetime(2024, 5, 2), MONTHLY, drift_threshold=D("0.05"))
    current = {"a": D("0.5"), "b": D("0.44"), "c": D("0.06")}
    assert rebalancer.should_rebalance(datetime(2024, 5, 20), current) == (
        True,
        "Allocation drift (6.0% > 5.0%)",
    )
    shrunk = {"a": D("0.5")}
    assert rebalancer.should_rebalance(datetime(2024, 5, 20), shrunk) == (
        True,
        "Allocation drift (50.0% > 5.0%)",
    )


def test_no_drift_trigger_without_a_threshold_or_allocations() -> None:
    no_threshold = rebalanced_at(datetime(2024, 5, 2), MONTHLY)
    drifted = {"a": D("0.9"), "b": D("0.1")}
    assert no_threshold.should_rebalance(datetime(2024, 5, 20), drifted)[0] is False
    with_threshold = rebalanced_at(datetime(2024, 5, 2), MONTHLY, drift_threshold=D("0.05"))
    assert with_threshold.should_rebalance(datetime(2024, 5, 20))[0] is False


def test_material_transfers() -> None:
    rebalancer, _ = make(min_transfer_pct=D("0.001"))
    assert rebalancer.is_material_transfer(D("-1000"), D("1000000")) is True
    assert rebalancer.is_material_transfer(D("999.99"), D("1000000")) is False
    unlimited, _ = make()
    assert unlimited.is_material_transfer(D("0.01"), D("1000000")) is True
    assert unlimited.is_material_transfer(D("0"), D("1000000")) is False


# -------------------------------------------------------------- snapshots


def test_state_round_trip_and_equality() -> None:
    rebalancer, algorithm = make(WEEKLY, drift_threshold=D("0.05"), min_transfer_pct=D("0.01"))
    fresh, _ = make(WEEKLY, drift_threshold=D("0.05"), min_transfer_pct=D("0.01"))
    assert rebalancer == fresh
    rebalancer.rebalance({}, datetime(2024, 1, 8))
    assert rebalancer != fresh
    restored = AllocationRebalancer.from_state(rebalancer.to_state(), algorithm)
    assert restored == rebalancer
    assert restored.cooldown_days == 1
    when = datetime(2024, 1, 10)
    current = {"a": D("0.7"), "b": D("0.3")}
    assert restored.should_rebalance(when, current) == rebalancer.should_rebalance(when, current)
    assert restored.should_rebalance(when, current)[0] is True
    with pytest.raises(InvalidInputError, match="version"):
        AllocationRebalancer.from_state({"version": 99}, algorithm)
