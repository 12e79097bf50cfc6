"""O(1) rolling indicators that strategies keep on their context."""

from __future__ import annotations

from collections import deque


class RollingMean:
    """Mean of the last `window` values, updated in O(1)."""

    __slots__ = ("_sum", "_values", "window")

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self._values: deque[float] = deque(maxlen=window)
        self._sum = 0.0

    def push(self, value: float) -> None:
        if len(self._values) == self.window:
            self._sum -= self._values[0]
        self._values.append(value)
        self._sum += value

    @property
    def ready(self) -> bool:
        return len(self._values) == self.window

    @property
    def value(self) -> float:
        return self._sum / len(self._values) if self._values else 0.0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RollingMean):
            return NotImplemented
        return self.window == other.window and self._values == other._values

    __hash__ = None  # type: ignore[assignment]


class RelativeStrength:
    """Wilder's RSI over `period` price changes."""

    __slots__ = ("_avg_gain", "_avg_loss", "_count", "_last", "period")

    def __init__(self, period: int = 14) -> None:
        self.period = period
        self._last: float | None = None
        self._avg_gain = 0.0
        self._avg_loss = 0.0
        self._count = 0

    def push(self, price: float) -> None:
        if self._last is not None:
            change = price - self._last
            gain, loss = max(change, 0.0), max(-change, 0.0)
            if self._count < self.period:
                self._avg_gain += gain / self.period
                self._avg_loss += loss / self.period
            else:
                self._avg_gain = (self._avg_gain * (self.period - 1) + gain) / self.period
                self._avg_loss = (self._avg_loss * (self.period - 1) + loss) / self.period
            self._count += 1
        self._last = price

    @property
    def ready(self) -> bool:
        return self._count >= self.period

    @property
    def value(self) -> float:
        if self._avg_loss == 0.0:
            return 100.0 if self._avg_gain > 0.0 else 50.0
        rs = self._avg_gain / self._avg_loss
        return 100.0 - 100.0 / (1.0 + rs)
