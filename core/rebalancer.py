"""When to rebalance: calendar, drift and cooldown rules around an allocation algorithm.

Calendar triggers fire on the first bar whose day, ISO week, month or quarter (year included)
differs from the last rebalance's, whatever weekday or day of the month that bar falls on.
Cooldowns are measured in time (intraday bars work), never by flooring to whole days.

Timestamps are `datetime`s (pandas `Timestamp` included), naive or tz-aware as the caller
gives them; only datetime methods are used. Allocations are Decimal fractions of the fund.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Final, Protocol

from core.errors import InvalidInputError
from core.money import ZERO, format_pct, in_fund_decimals, to_decimal
from core.performance import StrategyPerformance
from core.records import RebalanceTrigger
from core.transfer_threshold import is_material_transfer

STATE_VERSION = 1


class RebalancingFrequency(Enum):
    """Calendar rebalancing frequencies; CUSTOM has no calendar trigger."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    CUSTOM = "custom"


class SupportsAllocations(Protocol):
    """What the rebalancer needs from an allocation algorithm."""

    def calculate_allocations(
        self, strategies: dict[str, StrategyPerformance], /
    ) -> dict[str, Decimal]: ...


class _Unset(Enum):
    UNSET = "unset"


_UNSET: Final = _Unset.UNSET

_SHORTEST_PERIOD_DAYS: Final[dict[RebalancingFrequency, int]] = {
    RebalancingFrequency.DAILY: 1,
    RebalancingFrequency.WEEKLY: 7,
    RebalancingFrequency.MONTHLY: 28,
    RebalancingFrequency.QUARTERLY: 90,
}
"""The shortest calendar period of each frequency: a cooldown this long would block it."""

_DEFAULT_COOLDOWN_DAYS: Final[dict[RebalancingFrequency, float]] = {
    RebalancingFrequency.DAILY: 0,
    RebalancingFrequency.WEEKLY: 1,
}
_STANDARD_COOLDOWN_DAYS: Final = 7

_CALENDAR_REASONS: Final[dict[RebalancingFrequency, str]] = {
    RebalancingFrequency.DAILY: "Daily rebalancing",
    RebalancingFrequency.WEEKLY: "Weekly rebalancing",
    RebalancingFrequency.MONTHLY: "Monthly rebalancing",
    RebalancingFrequency.QUARTERLY: "Quarterly rebalancing",
}


def _period_key(frequency: RebalancingFrequency, ts: datetime) -> tuple[int, ...]:
    if frequency is RebalancingFrequency.DAILY:
        return (ts.year, ts.month, ts.day)
    if frequency is RebalancingFrequency.WEEKLY:
        iso = ts.isocalendar()
        return (iso[0], iso[1])
    if frequency is RebalancingFrequency.MONTHLY:
        return (ts.year, ts.month)
    return (ts.year, (ts.month - 1) // 3)


def _format_days(days: float) -> str:
    """7.0 -> '7', 0.5 -> '0.5', 1.2345 -> '1.23'."""
    text = f"{days:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _check_fraction(value: Decimal | None, field: str, *, at_most_one: bool) -> Decimal | None:
    if value is None:
        return None
    result = to_decimal(value, field=field)
    if result < 0 or (at_most_one and result > 1):
        bounds = "in [0, 1]" if at_most_one else ">= 0"
        raise InvalidInputError(f"{field} must be {bounds}, got {value!r}")
    return result


class AllocationRebalancer:
    """Decides when to rebalance and asks the algorithm for the new target weights.

    `cooldown_days` defaults to 7, shortened to what the frequency allows when not passed:
    DAILY → 0, WEEKLY → 1. An explicit cooldown as long as the frequency's shortest calendar
    period (DAILY 1, WEEKLY 7, MONTHLY 28, QUARTERLY 90 days) would silently change the
    frequency and is rejected. `None` means no cooldown. `min_transfer_pct` is the fraction of
    the fund's value below which the fund skips a rebalancing transfer: pass it to
    `PortfolioAllocator.rebalance` (the daemon does so for the rebalances it computes).

    `last_rebalance` (RustyBT's name) and `last_rebalance_time` are one value; both can be read
    and set, with a datetime or None (None makes the next check the initial rebalancing).
    """

    @in_fund_decimals
    def __init__(
        self,
        algorithm: SupportsAllocations,
        frequency: RebalancingFrequency = RebalancingFrequency.MONTHLY,
        cooldown_days: float | _Unset | None = _UNSET,
        drift_threshold: Decimal | None = None,
        *,
        min_transfer_pct: Decimal | None = None,
    ) -> None:
        self.algorithm = algorithm
        try:
            self.frequency = RebalancingFrequency(frequency)
        except ValueError:
            raise InvalidInputError(f"unknown rebalancing frequency {frequency!r}") from None
        self.cooldown_days: float = self._resolve_cooldown(cooldown_days)
        self.drift_threshold = _check_fraction(
            drift_threshold, "drift_threshold", at_most_one=False
        )
        self.min_transfer_pct = _check_fraction(
            min_transfer_pct, "min_transfer_pct", at_most_one=True
        )
        self._last_rebalance_time: datetime | None = None
        self.last_target_allocations: dict[str, Decimal] | None = None

    @property
    def last_rebalance_time(self) -> datetime | None:
        """When the last rebalance happened (None: never; the next check is the initial one)."""
        return self._last_rebalance_time

    @last_rebalance_time.setter
    def last_rebalance_time(self, value: datetime | None) -> None:
        if value is not None and not isinstance(value, datetime):
            raise InvalidInputError(
                f"last rebalance time must be a datetime or None, got {type(value).__name__} "
                f"{value!r}"
            )
        self._last_rebalance_time = value

    # RustyBT's name for the same value: its users and tests read and set `last_rebalance`.
    last_rebalance = last_rebalance_time

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Load pickles from before the two names shared one validated attribute."""
        if "last_rebalance_time" in state:
            state = dict(state)
            state["_last_rebalance_time"] = state.pop("last_rebalance_time")
        self.__dict__.update(state)

    def _resolve_cooldown(self, cooldown_days: float | _Unset | None) -> float:
        if cooldown_days is _UNSET:
            return _DEFAULT_COOLDOWN_DAYS.get(self.frequency, _STANDARD_COOLDOWN_DAYS)
        if cooldown_days is None:
            return 0
        if isinstance(cooldown_days, bool) or not isinstance(cooldown_days, int | float):
            raise InvalidInputError(f"cooldown_days must be a number, got {cooldown_days!r}")
        if not math.isfinite(cooldown_days) or cooldown_days < 0:
            raise InvalidInputError(f"cooldown_days must be >= 0, got {cooldown_days!r}")
        period = _SHORTEST_PERIOD_DAYS.get(self.frequency)
        if period is not None and cooldown_days >= period:
            raise InvalidInputError(
                f"cooldown_days={_format_days(cooldown_days)} would block "
                f"{self.frequency.value} rebalancing (its period can be {period} days); "
                f"use a cooldown below {period} days or another frequency"
            )
        return cooldown_days

    # -------------------------------------------------------------- triggers

    @in_fund_decimals
    def should_rebalance(
        self,
        current_time: datetime,
        current_allocations: Mapping[str, Decimal] | None = None,
        target_allocations: Mapping[str, Decimal] | None = None,
    ) -> tuple[bool, str]:
        """(fire?, reason): initial, then cooldown, calendar, drift, in that order."""
        trigger, reason = self.check(current_time, current_allocations, target_allocations)
        return trigger is not None, reason

    @in_fund_decimals
    def check(
        self,
        current_time: datetime,
        current_allocations: Mapping[str, Decimal] | None = None,
        target_allocations: Mapping[str, Decimal] | None = None,
    ) -> tuple[RebalanceTrigger | None, str]:
        """As `should_rebalance`, with what fires as a `RebalanceTrigger` (None: nothing)."""
        last = self.last_rebalance_time
        if last is None:
            return RebalanceTrigger.INITIAL, "Initial rebalancing"
        elapsed = current_time - last
        if self.cooldown_days and elapsed < timedelta(days=self.cooldown_days):
            elapsed_days = elapsed / timedelta(days=1)
            return None, (
                f"Cooldown period ({_format_days(elapsed_days)}/"
                f"{_format_days(self.cooldown_days)} days)"
            )
        reason = _CALENDAR_REASONS.get(self.frequency)
        if reason is not None and _period_key(self.frequency, current_time) != _period_key(
            self.frequency, last
        ):
            return RebalanceTrigger.CALENDAR, reason
        drift = self._drift(current_allocations, target_allocations)
        if drift is not None and self.drift_threshold is not None and drift > self.drift_threshold:
            return RebalanceTrigger.DRIFT, (
                f"Allocation drift ({format_pct(drift, 1)} > {format_pct(self.drift_threshold, 1)})"
            )
        return None, "No trigger conditions met"

    def _drift(
        self,
        current: Mapping[str, Decimal] | None,
        targets: Mapping[str, Decimal] | None,
    ) -> Decimal | None:
        """max |current − target| over both key sets (missing = 0), or None if unknown."""
        if self.drift_threshold is None or current is None:
            return None
        if targets is None:
            targets = self.last_target_allocations
        if targets is None:
            return None
        keys = current.keys() | targets.keys()
        return max((abs(current.get(k, ZERO) - targets.get(k, ZERO)) for k in keys), default=ZERO)

    @in_fund_decimals
    def is_material_transfer(self, amount: Decimal, fund_value: Decimal) -> bool:
        """Whether a transfer is large enough to make, given `min_transfer_pct` (the rule
        the fund's rebalance planner applies: `core.transfer_threshold`)."""
        return is_material_transfer(amount, fund_value, self.min_transfer_pct)

    # ------------------------------------------------------------ rebalances

    @in_fund_decimals
    def rebalance(
        self, strategies: dict[str, StrategyPerformance], current_time: datetime
    ) -> dict[str, Decimal]:
        """Ask the algorithm for target weights and record this rebalance."""
        allocations = self.algorithm.calculate_allocations(strategies)
        self.record_rebalance(current_time, allocations)
        return allocations

    @in_fund_decimals
    def record_rebalance(self, current_time: datetime, targets: Mapping[str, Decimal]) -> None:
        """Record a rebalance applied by other means (e.g. a manual command)."""
        self.last_rebalance_time = current_time
        self.last_target_allocations = dict(targets)

    # -------------------------------------------------------------- snapshots

    def to_state(self) -> dict[str, Any]:
        """Configuration and schedule: JSON-able, except the timestamp, kept as given."""
        targets = self.last_target_allocations
        return {
            "version": STATE_VERSION,
            "frequency": self.frequency.value,
            "cooldown_days": self.cooldown_days,
            "drift_threshold": _str_or_none(self.drift_threshold),
            "min_transfer_pct": _str_or_none(self.min_transfer_pct),
            "last_rebalance_time": self.last_rebalance_time,
            "last_target_allocations": (
                None if targets is None else {k: str(v) for k, v in targets.items()}
            ),
        }

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], algorithm: SupportsAllocations
    ) -> AllocationRebalancer:
        """Rebuild a rebalancer from `to_state()` around `algorithm` (not part of the state)."""
        if state.get("version") != STATE_VERSION:
            raise InvalidInputError(
                f"unsupported rebalancer state version {state.get('version')!r}"
            )
        rebalancer = cls(
            algorithm,
            RebalancingFrequency(state["frequency"]),
            state["cooldown_days"],
            _decimal_or_none(state["drift_threshold"]),
            min_transfer_pct=_decimal_or_none(state["min_transfer_pct"]),
        )
        rebalancer.last_rebalance_time = state["last_rebalance_time"]
        targets = state["last_target_allocations"]
        if targets is not None:
            rebalancer.last_target_allocations = {k: Decimal(v) for k, v in targets.items()}
        return rebalancer

    def __eq__(self, other: object) -> bool:
        """Same schedule and configuration, and algorithms of the same type."""
        if not isinstance(other, AllocationRebalancer):
            return NotImplemented
        same_kind = type(self.algorithm) is type(other.algorithm)
        return same_kind and self.to_state() == other.to_state()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"AllocationRebalancer({type(self.algorithm).__name__}, {self.frequency.value}, "
            f"cooldown_days={_format_days(self.cooldown_days)}, "
            f"drift_threshold={self.drift_threshold}, last={self.last_rebalance_time})"
        )


def _str_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal_or_none(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
