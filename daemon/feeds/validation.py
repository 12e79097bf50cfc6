"""The bad-bar policy at the edge: what a feed does with a bar that must not reach a strategy.

Every feed passes its rows through a `BarValidator` before grouping them into a `Slice`. A
rejected bar is dropped, counted in `BarValidator.rejected[reason]` and reported to the
`on_reject` hook as `(reason, symbol, ts, detail)`; the feed goes on. Each rejected bar is
counted once, under the first reason that applies, checked in this order:

0. `malformed`: a feed entry that names no usable symbol or timestamp, so it cannot be placed
   in time at all (counted by the feed through `reject_malformed`).
1. `unknown_symbol`: the symbol is blank, or not in the validator's `symbols` (when given).
   `future`: the bar is dated more than `max_ahead_s` seconds after the wall clock (live
   feeds only; replay feeds have no such check). One bar from the far future would
   otherwise become a slice and make every later real bar `out_of_order`.
2. `out_of_order`: the bar is older than the last emitted slice, or has that slice's
   timestamp without having been part of it (a slice is never re-opened).
   `duplicate`: the bar has the last emitted slice's timestamp and its symbol is already in
   that slice (emitted data cannot be replaced, whatever the duplicate policy).
3. The OHLCV rules of `core.market.Bar`, with core's reason codes: `non_finite` (NaN,
   infinity, blank or unparseable price), `non_positive_price`, `high_below_low`,
   `open_outside_range`, `close_outside_range`, `negative_volume`.
4. `out_of_range`: a finite number the fund must still not compute with (`BarLimits`): a
   price outside [`min_price`, `max_price`], a volume above `max_volume`, or any value
   written with more than `max_digits` significant digits. `1e999999999` is finite and
   positive, and the first fill against it would overflow the fund's arithmetic.
5. `duplicate`: a second bar for the same symbol in the same slice. With
   `duplicate_policy="reject"` (the default) the first bar is kept and every later one is
   rejected; with `"keep_last"` each later bar replaces the earlier one, which is counted as
   the rejected duplicate. Either way exactly one bar of the symbol reaches the slice.

Bars given to the validator already built (`core.market.Bar`) skip rules 3 and 4: they were
built from trusted numbers, or checked when a feed first read them.
A slice in which every bar was rejected is not emitted, and does not move the ordering mark.
A blank volume is not a defect: the bar's volume is unknown (None).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from core.errors import InvalidBarError
from core.market import BAR_FIELDS, Bar, Slice
from daemon.feeds.errors import FeedConfigError

REJECT_REASONS: tuple[str, ...] = (
    "non_finite",
    "non_positive_price",
    "high_below_low",
    "open_outside_range",
    "close_outside_range",
    "negative_volume",
    "duplicate",
    "out_of_order",
    "unknown_symbol",
    "out_of_range",
    "future",
    "malformed",
)
"""Every reason a bar can be rejected for; `BarValidator.rejected` has one counter each."""

DuplicatePolicy = Literal["reject", "keep_last"]

RejectHook = Callable[[str, str, datetime, str], None]
"""Called once per rejected bar with (reason, symbol, ts, detail)."""


NO_TIME = datetime.min.replace(tzinfo=UTC)
"""The `ts` passed to `on_reject` for a malformed entry that has no usable timestamp."""


@dataclass(frozen=True, slots=True)
class BarLimits:
    """The magnitudes a bar may carry (rule 4 of the module doc). Defaults fit any traded
    instrument's price and volume with a wide margin, far inside what the fund's Decimal
    arithmetic (28 significant digits, exponents to 999999) can multiply and sum."""

    min_price: Decimal = Decimal("1e-12")
    max_price: Decimal = Decimal("1e12")
    max_volume: Decimal = Decimal("1e18")
    max_digits: int = 20

    def __post_init__(self) -> None:
        for name in ("min_price", "max_price", "max_volume"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise FeedConfigError(f"bar limit {name} must be a finite Decimal > 0")
        if self.min_price > self.max_price:
            raise FeedConfigError("bar limit min_price must not exceed max_price")
        if isinstance(self.max_digits, bool) or self.max_digits < 1:
            raise FeedConfigError(f"bar limit max_digits must be >= 1, got {self.max_digits!r}")

    @classmethod
    def coerce(cls, limits: BarLimits | Mapping[str, Any] | None) -> BarLimits:
        """`limits` as given, the defaults for None, or built from a mapping of options."""
        if limits is None:
            return cls()
        if isinstance(limits, BarLimits):
            return limits
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(limits) - known)
        if unknown:
            raise FeedConfigError(f"unknown bar limits: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in limits.items():
            try:
                values[name] = value if name == "max_digits" else Decimal(str(value))
            except ArithmeticError:
                raise FeedConfigError(f"bar limit {name} must be a number, got {value!r}") from None
        return cls(**values)

    def violation(self, bar: Bar, raw: tuple[object, ...] = ()) -> str | None:
        """Why `bar` is out of range, or None when it is within every limit. `raw`: the
        values it was parsed from (open, high, low, close, volume), when known: a text no
        longer than `max_digits` cannot hold more digits, which spares counting them."""
        # a valid bar has low <= open, close <= high: two comparisons bound all four prices
        if bar.low < self.min_price or bar.high > self.max_price:
            return (
                f"prices from {bar.low} to {bar.high} outside [{self.min_price}, {self.max_price}]"
            )
        volume = bar.volume
        if volume is not None and volume > self.max_volume:
            return f"volume {volume} above {self.max_volume}"
        if raw and _short(raw, self.max_digits):
            return None
        values = (bar.open, bar.high, bar.low, bar.close, volume)
        for name, value in zip(BAR_FIELDS, values, strict=True):
            if value is not None and _digits(value) > self.max_digits:
                return f"{name} has more than {self.max_digits} significant digits"
        return None


def _short(texts: tuple[object, ...], limit: int) -> bool:
    """True when the five values were texts of at most `limit` characters (a blank volume
    aside): none of them can hold more than `limit` digits. Checked on every bar, so spelled
    out."""
    o, h, lo, c, v = texts
    return (
        type(o) is str
        and len(o) <= limit
        and type(h) is str
        and len(h) <= limit
        and type(lo) is str
        and len(lo) <= limit
        and type(c) is str
        and len(c) <= limit
        and (v is None or (type(v) is str and len(v) <= limit))
    )


def _digits(value: Decimal) -> int:
    """Significant digits of `value` as written, trailing zeros not counted."""
    digits = value.as_tuple().digits
    end = len(digits)
    while end > 1 and digits[end - 1] == 0:
        end -= 1
    start = 0
    while start < end - 1 and digits[start] == 0:
        start += 1
    return end - start


def new_reject_counters() -> dict[str, int]:
    """One zeroed counter per reason, so a metrics layer can export every series from start."""
    return dict.fromkeys(REJECT_REASONS, 0)


@dataclass(frozen=True, slots=True)
class RawBar:
    """A bar as read, before validation: prices are text (parsed to Decimal without going
    through float), numbers, or None when the cell was blank."""

    ts: datetime
    symbol: str
    open: object
    high: object
    low: object
    close: object
    volume: object = None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class BarValidator:
    """Turns raw rows (or already-built bars) into validated `Slice`s; see the module doc.

    `symbols`: the known universe, or None to accept any non-blank symbol.
    `duplicate_policy`: "reject" (keep the first bar) or "keep_last".
    `on_reject`: called for each rejection, after it was counted.
    `limits`: the `BarLimits` (a mapping of its options, or None for the defaults).
    `max_ahead_s`: how far after `wall_clock()` (Unix seconds) a bar may be dated; None (the
    default, for replays of recorded data) does not compare bars with the wall clock.
    """

    def __init__(
        self,
        symbols: Iterable[str] | None = None,
        duplicate_policy: DuplicatePolicy = "reject",
        on_reject: RejectHook | None = None,
        *,
        limits: BarLimits | Mapping[str, Any] | None = None,
        max_ahead_s: float | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if duplicate_policy not in get_args(DuplicatePolicy):
            raise FeedConfigError(
                f"duplicate_policy must be one of {get_args(DuplicatePolicy)}, "
                f"got {duplicate_policy!r}"
            )
        self.symbols: frozenset[str] | None = None if symbols is None else frozenset(symbols)
        self.duplicate_policy: DuplicatePolicy = duplicate_policy
        self.on_reject = on_reject
        if max_ahead_s is not None and not (math.isfinite(max_ahead_s) and max_ahead_s >= 0):
            raise FeedConfigError(f"max_ahead_s must be a finite number >= 0, got {max_ahead_s!r}")
        self.limits = BarLimits.coerce(limits)
        self.max_ahead_s = max_ahead_s
        self._wall_clock = wall_clock
        self.rejected: dict[str, int] = new_reject_counters()
        self.last_ts: datetime | None = None
        self._last_symbols: frozenset[str] = frozenset()

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def make_slice(self, ts: datetime, rows: Iterable[RawBar | Bar]) -> Slice | None:
        """Validate the rows of timestamp `ts`; the slice of the survivors, or None if none
        survived. Every row must carry `ts`. Advances the ordering mark when a slice is made."""
        bars: dict[str, Bar] = {}
        for row in rows:
            if row.ts != ts:
                raise ValueError(f"row at {row.ts} passed in the group of {ts}")
            bar = self._admit(row)
            if bar is None:
                continue
            earlier = bars.get(bar.symbol)
            if earlier is None:
                bars[bar.symbol] = bar
            elif self.duplicate_policy == "keep_last":
                self._reject("duplicate", earlier.symbol, ts, "replaced by a later bar")
                bars[bar.symbol] = bar
            else:
                self._reject("duplicate", bar.symbol, ts, "a bar for this timestamp came first")
        if not bars:
            return None
        self.last_ts = ts
        self._last_symbols = frozenset(bars)
        return Slice(ts, bars)

    def to_bar(self, row: RawBar | Bar) -> Bar | None:
        """Symbol and OHLCV checks of one row, without ordering; None if rejected."""
        if self._refused(row):
            return None
        return self._checked(row)

    def reject_malformed(self, symbol: str, detail: str) -> None:
        """Count a feed entry that has no usable symbol or timestamp (`malformed`)."""
        self._reject("malformed", symbol, NO_TIME, detail)

    def _admit(self, row: RawBar | Bar) -> Bar | None:
        if self._refused(row):
            return None
        last = self.last_ts
        if last is not None and row.ts <= last:
            if row.ts == last and row.symbol in self._last_symbols:
                self._reject("duplicate", row.symbol, row.ts, "its slice was already emitted")
            else:
                self._reject("out_of_order", row.symbol, row.ts, f"older than {last.isoformat()}")
            return None
        return self._checked(row)

    def _refused(self, row: RawBar | Bar) -> bool:
        if _blank(row.symbol) or (self.symbols is not None and row.symbol not in self.symbols):
            self._reject("unknown_symbol", row.symbol, row.ts, "symbol not in the universe")
            return True
        if self.max_ahead_s is not None:
            ahead_s = row.ts.timestamp() - self._wall_clock()
            if ahead_s > self.max_ahead_s:
                detail = f"{ahead_s:.0f}s ahead of the wall clock (at most {self.max_ahead_s:g}s)"
                self._reject("future", row.symbol, row.ts, detail)
                return True
        return False

    def _checked(self, row: RawBar | Bar) -> Bar | None:
        if isinstance(row, Bar):
            return row
        volume = None if _blank(row.volume) else row.volume
        try:
            bar = Bar.of(row.ts, row.symbol, row.open, row.high, row.low, row.close, volume)
        except InvalidBarError as exc:
            self._reject(exc.reason, row.symbol, row.ts, str(exc))
            return None
        raw = (row.open, row.high, row.low, row.close, volume)
        out_of_range = self.limits.violation(bar, raw)
        if out_of_range is not None:
            self._reject("out_of_range", row.symbol, row.ts, f"{row.symbol}: {out_of_range}")
            return None
        return bar

    def _reject(self, reason: str, symbol: str, ts: datetime, detail: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        if self.on_reject is not None:
            self.on_reject(reason, symbol, ts, detail)
