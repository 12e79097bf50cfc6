"""Per-strategy performance: time-weighted returns, rolling statistics, drawdowns.

`StrategyPerformance` is fed once per bar for every strategy (paused ones included) and costs
O(1) per update: the last `lookback_window` returns live in a ring buffer, and the window's sums
are kept as exact integers (each return is fixed to a multiple of 2**-100), so adding and
evicting returns never accumulates rounding error and a restored snapshot gives bit-identical
statistics. Memory is bounded by the lookback whatever the run length, unless `keep_history`.

Money (values, flows) is Decimal; every statistic is a float.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from core.errors import InvalidInputError
from core.money import ZERO, format_money, format_pct, in_fund_decimals, to_decimal

_SCALE_BITS = 100
_SCALE = float(2**_SCALE_BITS)
_INF = math.inf
_CONSTANT_STD = 1e-12
"""A window whose per-period std is below this (times max(1, |mean|)) counts as constant."""

GROWTH_LIMIT = 1e100
"""The statistics saturate here: a value / base ratio beyond ±1e100 in one period (prices
from 1e-50 to 1e50, say) enters the window and the NAV as ±1e100, so that every statistic of
the window (its sums of squares included) stays a finite float; a value beyond float range
is taken as ±`sys.float_info.max`, and the NAV stays within ±`NAV_LIMIT`. Money is not
touched: `portfolio_values` and `peak_value` keep the exact Decimals."""

NAV_LIMIT = 1e300

_FLOAT_MAX = sys.float_info.max

STATE_VERSION = 1


class StrategyPerformance:
    """Performance tracker of one strategy.

    Returns are time-weighted: a flow (capital the fund moved in (+) or out (−)) is treated as
    moved right after the previous observation, which is when the fund transfers, so the next
    return is `value / (previous value + flows) − 1`. Transfers are never performance. When that
    base is ≤ 0 (the strategy was emptied) the return is undefined: no return is recorded, the
    value still is.

    Drawdowns are measured on the NAV index (the product of 1 + r over the whole run), so
    transfers never create or hide a drawdown. Statistics (floats) cover the last
    `lookback_window` returns and are 0.0 when there are fewer than 2 of them.
    """

    def __init__(
        self,
        strategy_id: str,
        lookback_window: int = 252,
        *,
        periods_per_year: float = 252,
        risk_free_rate: float = 0.0,
        keep_history: bool = False,
    ) -> None:
        if isinstance(lookback_window, bool) or not isinstance(lookback_window, int):
            raise InvalidInputError(f"lookback_window must be an int, got {lookback_window!r}")
        if lookback_window < 2:
            raise InvalidInputError(f"lookback_window must be >= 2, got {lookback_window}")
        if not (math.isfinite(periods_per_year) and periods_per_year > 0):
            raise InvalidInputError(f"periods_per_year must be > 0, got {periods_per_year!r}")
        if not math.isfinite(risk_free_rate):
            raise InvalidInputError(f"risk_free_rate must be finite, got {risk_free_rate!r}")
        self.strategy_id = strategy_id
        self.lookback_window = lookback_window
        self.periods_per_year = float(periods_per_year)
        self.risk_free_rate = float(risk_free_rate)
        self.keep_history = keep_history
        maxlen = None if keep_history else lookback_window + 1
        self.timestamps: deque[Any] = deque(maxlen=maxlen)
        """Observation timestamps, as given (the fund validates their order)."""
        self.portfolio_values: deque[Decimal] = deque(maxlen=maxlen)
        self.num_observations = 0
        """Every value ever recorded (not bounded by the window)."""
        self._ret: list[float] = [0.0] * lookback_window
        self._ret_q: list[int] = [0] * lookback_window
        self._ret_ts: list[Any] = [None] * lookback_window
        self._pos = 0
        self._count = 0
        self._s1 = 0  # Σq, q = return × 2**100 (exact integers)
        self._s2 = 0  # Σq²
        self._wins = 0
        self._losses = 0
        self._gain = 0  # Σq over winning returns
        self._loss = 0  # Σq over losing returns (≤ 0)
        self._last_f = 0.0
        self._pending_flow = ZERO
        self._nav = 1.0
        self._peak_nav = 1.0
        self._max_dd = 0.0
        self._trough_dd = 0.0
        self._peak_value = ZERO

    # ---------------------------------------------------------------- feeding

    @in_fund_decimals
    def record_flow(self, amount: Decimal) -> None:
        """Record capital moved in (+) or out (−) right after the last observation.

        Flows before the first observation are part of the initial capital and are ignored.
        """
        if amount.__class__ is not Decimal:
            amount = to_decimal(amount, field="flow")
        elif not amount.is_finite():
            raise InvalidInputError(f"flow must be finite, got {amount!r}")
        if self.num_observations:
            self._pending_flow += amount

    def update(self, timestamp: Any, value: Decimal, flow: Decimal = ZERO) -> None:
        """Record the strategy's value at `timestamp` (O(1)).

        `flow` is the capital moved since the previous observation; `update(t, v, flow=f)` is
        exactly `record_flow(f)` followed by `update(t, v)`. The first call only sets the base.
        """
        if value.__class__ is not Decimal:
            value = to_decimal(value, field="value")
        value_f = float(value)
        if not -_FLOAT_MAX <= value_f <= _FLOAT_MAX:
            if not value.is_finite():
                raise InvalidInputError(f"value must be finite, got {value!r}")
            value_f = math.copysign(_FLOAT_MAX, value_f)  # past float range: GROWTH_LIMIT
        if flow:
            self.record_flow(flow)
        if self.num_observations:
            base_f = self._apply_pending_flow() if self._pending_flow else self._last_f
            if base_f > 0.0:  # a return: push it, then follow the NAV and its drawdowns
                growth = value_f / base_f
                if not -GROWTH_LIMIT <= growth <= GROWTH_LIMIT:
                    growth = math.copysign(GROWTH_LIMIT, growth)
                self._push(timestamp, growth - 1.0)
                nav = self._nav * growth
                if not -NAV_LIMIT <= nav <= NAV_LIMIT:
                    nav = math.copysign(NAV_LIMIT, nav)
                self._nav = nav
                if nav >= self._peak_nav:
                    self._peak_nav = nav
                    self._peak_value = value
                    self._trough_dd = 0.0
                else:
                    dd = nav / self._peak_nav - 1.0
                    if dd < self._trough_dd:
                        self._trough_dd = dd
                        self._max_dd = min(self._max_dd, dd)
        else:
            self._peak_value = value
        self._last_f = value_f
        self.timestamps.append(timestamp)
        self.portfolio_values.append(value)
        self.num_observations += 1

    @in_fund_decimals
    def _apply_pending_flow(self) -> float:
        """Fold the pending flows into the base; keep the peak expressed in today's capital."""
        last = self.portfolio_values[-1]
        base = last + self._pending_flow
        self._pending_flow = ZERO
        if base > 0:
            if last > 0:
                self._peak_value = self._peak_value * base / last
            elif self._nav > 0.0:  # refunded from nothing: only the NAV ratio is left
                self._peak_value = base * Decimal(self._peak_nav / self._nav)
        return min(float(base), _FLOAT_MAX)  # a base past float range saturates, as values do

    def _push(self, timestamp: Any, r: float) -> None:
        """Append one return to the ring, evicting the oldest when full (inlined: this runs
        for every strategy on every bar)."""
        q = int(r * _SCALE)
        pos = self._pos
        if self._count == self.lookback_window:  # evict the oldest return from the sums
            old, old_q = self._ret[pos], self._ret_q[pos]
            self._s1 += q - old_q
            self._s2 += q * q - old_q * old_q
            if old > 0.0:
                self._wins -= 1
                self._gain -= old_q
            elif old < 0.0:
                self._losses -= 1
                self._loss -= old_q
        else:
            self._count += 1
            self._s1 += q
            self._s2 += q * q
        self._ret[pos] = r
        self._ret_q[pos] = q
        self._ret_ts[pos] = timestamp
        if r > 0.0:
            self._wins += 1
            self._gain += q
        elif r < 0.0:
            self._losses += 1
            self._loss += q
        pos += 1
        self._pos = 0 if pos == self.lookback_window else pos

    # ------------------------------------------------------------ window data

    @property
    def num_returns(self) -> int:
        """Returns currently in the window."""
        return self._count

    def _ordered(self, items: list[Any]) -> list[Any]:
        if self._count < self.lookback_window:
            return items[: self._count]
        return items[self._pos :] + items[: self._pos]

    @property
    def returns(self) -> list[float]:
        """The window's returns (float), oldest first."""
        return self._ordered(self._ret)

    @property
    def return_timestamps(self) -> tuple[Any, ...]:
        """Timestamps of the window's returns, aligned with `returns_array(None)`."""
        return tuple(self._ordered(self._ret_ts))

    def returns_array(self, n: int | None = None) -> npt.NDArray[np.float64]:
        """A float64 copy of the last min(n, available) returns, oldest first (None: all)."""
        if n is not None and n < 0:
            raise InvalidInputError(f"n must be >= 0, got {n}")
        data = self.returns
        if n is not None:
            data = data[len(data) - min(n, len(data)) :]
        return np.array(data, dtype=np.float64)

    # ----------------------------------------------------------- money views

    @property
    def current_value(self) -> Decimal:
        """The last observed value (0 before any observation)."""
        return self.portfolio_values[-1] if self.num_observations else ZERO

    @property
    def peak_value(self) -> Decimal:
        """The NAV peak expressed in today's capital: current value × peak NAV / NAV.

        Equals the highest value observed when no capital was transferred.
        """
        return self._peak_value

    @property
    def total_return(self) -> float:
        """Time-weighted return of the whole run (float): the product of 1 + r over every
        return ever recorded, minus 1. Transfers are not performance, so a strategy that
        tripled and paid out its gains reports +200 % whatever capital it holds now."""
        return self._nav - 1.0

    # -------------------------------------------------------------- drawdowns

    @property
    def current_drawdown(self) -> float:
        """NAV / peak NAV − 1 (float, ≤ 0)."""
        return self._nav / self._peak_nav - 1.0

    @property
    def max_drawdown(self) -> float:
        """The most negative drawdown of the whole run (float, ≤ 0)."""
        return self._max_dd

    @property
    def trough_drawdown(self) -> float:
        """The lowest drawdown since the last NAV peak (float, ≤ 0; 0 at a peak)."""
        return self._trough_dd

    # ------------------------------------------------------------- statistics

    def _period_mean_std(self) -> tuple[float, float]:
        """Per-period mean and sample std (ddof 1) of the window, both float."""
        n = self._count
        mean = self._s1 / (n << _SCALE_BITS)
        var = (n * self._s2 - self._s1 * self._s1) / ((n * (n - 1)) << (2 * _SCALE_BITS))
        std = math.sqrt(var) if var > 0 else 0.0
        if std < _CONSTANT_STD * max(1.0, abs(mean)):
            std = 0.0
        return mean, std

    @property
    def mean_return(self) -> float:
        """Annualised arithmetic mean return (per-period mean × periods_per_year), float."""
        if self._count < 2:
            return 0.0
        return self._period_mean_std()[0] * self.periods_per_year

    @property
    def volatility(self) -> float:
        """Annualised volatility (sample std × √periods_per_year), float; 0.0 if constant."""
        if self._count < 2:
            return 0.0
        return self._period_mean_std()[1] * math.sqrt(self.periods_per_year)

    @property
    def sharpe_ratio(self) -> float:
        """(mean − rf / periods_per_year) / std × √periods_per_year, float; 0.0 if constant."""
        if self._count < 2:
            return 0.0
        mean, std = self._period_mean_std()
        if std == 0.0:
            return 0.0
        excess = mean - self.risk_free_rate / self.periods_per_year
        return excess / std * math.sqrt(self.periods_per_year)

    @property
    def win_rate(self) -> float:
        """Fraction of the window's returns that are > 0, float."""
        if self._count < 2:
            return 0.0
        return self._wins / self._count

    @property
    def profit_factor(self) -> float:
        """Σ gains / |Σ losses| over the window, float: inf with gains and no losses."""
        if self._count < 2 or self._wins == 0:
            return 0.0
        if self._losses == 0 or self._loss == 0:
            return _INF
        return self._gain / -self._loss

    @property
    def winning_periods(self) -> int:
        return self._wins

    @property
    def losing_periods(self) -> int:
        return self._losses

    def get_metrics(self) -> dict[str, Any]:
        """The seed's metrics dictionary: money to cents, percentages and ratios as strings."""
        pf = self.profit_factor
        return {
            "strategy_id": self.strategy_id,
            "num_observations": self.num_observations,
            "current_value": format_money(self.current_value),
            "peak_value": format_money(self.peak_value),
            "current_drawdown": format_pct(self.current_drawdown),
            "max_drawdown": format_pct(self.max_drawdown),
            "mean_return": format_pct(self.mean_return),
            "volatility": format_pct(self.volatility),
            "sharpe_ratio": f"{self.sharpe_ratio:.2f}",
            "win_rate": format_pct(self.win_rate),
            "profit_factor": "inf" if math.isinf(pf) else f"{pf:.2f}",
            "winning_periods": self.winning_periods,
            "losing_periods": self.losing_periods,
        }

    # -------------------------------------------------------------- snapshots

    def to_state(self) -> dict[str, Any]:
        """The full state: JSON-able values, except timestamps, which are kept as given."""
        return {
            "version": STATE_VERSION,
            "strategy_id": self.strategy_id,
            "lookback_window": self.lookback_window,
            "periods_per_year": self.periods_per_year,
            "risk_free_rate": self.risk_free_rate,
            "keep_history": self.keep_history,
            "num_observations": self.num_observations,
            "timestamps": list(self.timestamps),
            "portfolio_values": [str(v) for v in self.portfolio_values],
            "returns": self.returns,
            "return_timestamps": list(self.return_timestamps),
            "pending_flow": str(self._pending_flow),
            "nav": self._nav,
            "peak_nav": self._peak_nav,
            "max_drawdown": self._max_dd,
            "trough_drawdown": self._trough_dd,
            "peak_value": str(self._peak_value),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StrategyPerformance:
        """Rebuild a tracker from `to_state()`; its statistics are bit-identical."""
        if state.get("version") != STATE_VERSION:
            raise InvalidInputError(
                f"unsupported performance state version {state.get('version')!r}"
            )
        perf = cls(
            state["strategy_id"],
            state["lookback_window"],
            periods_per_year=state["periods_per_year"],
            risk_free_rate=state["risk_free_rate"],
            keep_history=state["keep_history"],
        )
        perf._restore_window(state["returns"], state["return_timestamps"])
        perf.timestamps.extend(state["timestamps"])
        perf.portfolio_values.extend(Decimal(v) for v in state["portfolio_values"])
        perf.num_observations = int(state["num_observations"])
        if perf.portfolio_values:
            perf._last_f = float(perf.portfolio_values[-1])
        perf._pending_flow = Decimal(state["pending_flow"])
        perf._nav = float(state["nav"])
        perf._peak_nav = float(state["peak_nav"])
        perf._max_dd = float(state["max_drawdown"])
        perf._trough_dd = float(state["trough_drawdown"])
        perf._peak_value = Decimal(state["peak_value"])
        return perf

    def _restore_window(self, returns: Sequence[float], stamps: Sequence[Any]) -> None:
        if len(returns) != len(stamps) or len(returns) > self.lookback_window:
            raise InvalidInputError("performance state: returns and timestamps do not match")
        for r, ts in zip(returns, stamps, strict=True):
            self._push(ts, float(r))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StrategyPerformance):
            return NotImplemented
        return self.to_state() == other.to_state()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"StrategyPerformance({self.strategy_id!r}, observations={self.num_observations}, "
            f"returns={self._count}/{self.lookback_window})"
        )
