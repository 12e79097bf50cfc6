"""The bad-bar policy at the edge: what a feed does with a bar that must not reach a strategy.

Every feed passes its rows through a `BarValidator` before grouping them into a `Slice`. A
rejected bar is dropped, counted in `BarValidator.rejected[reason]` and reported to the
`on_reject` hook as `(reason, symbol, ts, detail)`; the feed goes on. Each rejected bar is
counted once, under the first reason that applies, checked in this order:

1. `unknown_symbol`: the symbol is blank, or not in the validator's `symbols` (when given).
2. `out_of_order`: the bar is older than the last emitted slice, or has that slice's
   timestamp without having been part of it (a slice is never re-opened).
   `duplicate`: the bar has the last emitted slice's timestamp and its symbol is already in
   that slice (emitted data cannot be replaced, whatever the duplicate policy).
3. The OHLCV rules of `core.market.Bar`, with core's reason codes: `non_finite` (NaN,
   infinity, blank or unparseable price), `non_positive_price`, `high_below_low`,
   `open_outside_range`, `close_outside_range`, `negative_volume`.
4. `duplicate`: a second bar for the same symbol in the same slice. With
   `duplicate_policy="reject"` (the default) the first bar is kept and later ones are
   rejected; with `"keep_last"` each later bar replaces the earlier one, which is counted as
   the rejected duplicate.

A slice in which every bar was rejected is not emitted, and does not move the ordering mark.
A blank volume is not a defect: the bar's volume is unknown (None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from core.errors import InvalidBarError
from core.market import Bar, Slice
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
)
"""Every reason a bar can be rejected for; `BarValidator.rejected` has one counter each."""

DuplicatePolicy = Literal["reject", "keep_last"]

RejectHook = Callable[[str, str, datetime, str], None]
"""Called once per rejected bar with (reason, symbol, ts, detail)."""


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
    """

    def __init__(
        self,
        symbols: Iterable[str] | None = None,
        duplicate_policy: DuplicatePolicy = "reject",
        on_reject: RejectHook | None = None,
    ) -> None:
        if duplicate_policy not in get_args(DuplicatePolicy):
            raise FeedConfigError(
                f"duplicate_policy must be one of {get_args(DuplicatePolicy)}, "
                f"got {duplicate_policy!r}"
            )
        self.symbols: frozenset[str] | None = None if symbols is None else frozenset(symbols)
        self.duplicate_policy: DuplicatePolicy = duplicate_policy
        self.on_reject = on_reject
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
        if self._unknown(row):
            return None
        return self._checked(row)

    def _admit(self, row: RawBar | Bar) -> Bar | None:
        if self._unknown(row):
            return None
        last = self.last_ts
        if last is not None and row.ts <= last:
            if row.ts == last and row.symbol in self._last_symbols:
                self._reject("duplicate", row.symbol, row.ts, "its slice was already emitted")
            else:
                self._reject("out_of_order", row.symbol, row.ts, f"older than {last.isoformat()}")
            return None
        return self._checked(row)

    def _unknown(self, row: RawBar | Bar) -> bool:
        if _blank(row.symbol) or (self.symbols is not None and row.symbol not in self.symbols):
            self._reject("unknown_symbol", row.symbol, row.ts, "symbol not in the universe")
            return True
        return False

    def _checked(self, row: RawBar | Bar) -> Bar | None:
        if isinstance(row, Bar):
            return row
        volume = None if _blank(row.volume) else row.volume
        try:
            return Bar.of(row.ts, row.symbol, row.open, row.high, row.low, row.close, volume)
        except InvalidBarError as exc:
            self._reject(exc.reason, row.symbol, row.ts, str(exc))
            return None

    def _reject(self, reason: str, symbol: str, ts: datetime, detail: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        if self.on_reject is not None:
            self.on_reject(reason, symbol, ts, detail)
