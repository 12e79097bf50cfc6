"""What a strategy sees of the market: the current slice plus a bounded history."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import NoReturn

from core.errors import InvalidInputError
from core.market import BAR_FIELDS, Bar, Slice, read_only

DEFAULT_HISTORY_BARS = 256


class MarketHistory:
    """The last `max_bars` slices, appended once per slice (O(1)).

    `bars(symbol, n)` looks back through those slices for the symbol's last `n` bars, so a
    symbol that misses some slices has fewer bars within the window. Memory is bounded by
    `max_bars` slices whatever the run length.
    """

    __slots__ = ("_slices", "max_bars")

    def __init__(self, max_bars: int = DEFAULT_HISTORY_BARS) -> None:
        if max_bars < 1:
            raise InvalidInputError(f"max_bars must be >= 1, got {max_bars}")
        self.max_bars = max_bars
        self._slices: deque[Slice] = deque(maxlen=max_bars)

    def append(self, market: Slice) -> None:
        self._slices.append(market)

    def bars(self, symbol: str, n: int) -> list[Bar]:
        """The symbol's last `n` bars (fewer if the window holds fewer), oldest first."""
        if n < 1 or n > self.max_bars:
            raise InvalidInputError(f"history length must be in [1, {self.max_bars}], got {n}")
        found: list[Bar] = []
        for market in reversed(self._slices):
            bar = market.get(symbol)
            if bar is not None:
                found.append(bar)
                if len(found) == n:
                    break
        found.reverse()
        return found


class BarData:
    """The `data` argument of `handle_data(context, data, ledger)`.

    `data[symbol]` is the current `Bar` (so `data["AAPL"]["price"]` works as in the seed),
    `data.current(symbol, field)` a current value, `data.history(symbol, field, n)` the last
    `n` values up to and including this slice (fewer at the start of a run).

    Read-only, like its `Slice`: `PortfolioAllocator` hands one `data` to all its strategies.
    """

    __slots__ = ("slice", "_history", "_bars")

    slice: Slice
    _history: MarketHistory
    _bars: dict[str, Bar]

    def __new__(cls, market: Slice, history: MarketHistory) -> BarData:
        # Built here, not in `__init__`: a worker builds one for every strategy on every
        # slice, and an `__init__` that must first ask whether it was built already (an
        # unset slot raises) costs twice as much.
        data = _new_object(cls)
        _DATA_SLICE(data, market)
        _DATA_HISTORY(data, history)
        _DATA_BARS(data, market._bars)  # `data[symbol]` runs for every strategy on every slice
        return data

    def __init__(self, market: Slice, history: MarketHistory) -> None:
        """Called again on a built `data` (to show it another market): refused."""
        if market is not self.slice or history is not self._history:
            read_only(self, "slice")

    def __setattr__(self, name: str, value: object) -> NoReturn:
        read_only(self, name)

    def __delattr__(self, name: str) -> NoReturn:
        read_only(self, name)

    @property
    def timestamp(self) -> datetime:
        return self.slice.ts

    def __getitem__(self, symbol: str) -> Bar:
        return self._bars[symbol]

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.slice

    def __iter__(self) -> Iterator[str]:
        return iter(self.slice)

    def __len__(self) -> int:
        return len(self.slice)

    def get(self, symbol: str, default: Bar | None = None) -> Bar | None:
        return self.slice.get(symbol, default)

    def items(self) -> Iterator[tuple[str, Bar]]:
        return iter(self.slice.items())

    def can_trade(self, symbol: str) -> bool:
        """True when the symbol has a bar in this slice (orders fill only on a bar)."""
        return symbol in self.slice

    def current(self, symbol: str, field: str = "close") -> Decimal | None:
        bar = self.slice.get(symbol)
        if bar is None:
            return None
        value: Decimal | None = bar[_field(field)]
        return value

    def history(self, symbol: str, field: str, n: int) -> list[Decimal | None]:
        name = _field(field)
        return [bar[name] for bar in self._history.bars(symbol, n)]


_new_object = object.__new__
_DATA_SLICE = BarData.__dict__["slice"].__set__  # the slots, past `BarData.__setattr__`
_DATA_HISTORY = BarData.__dict__["_history"].__set__
_DATA_BARS = BarData.__dict__["_bars"].__set__


def _field(field: str) -> str:
    name = "close" if field == "price" else field
    if name not in BAR_FIELDS:
        raise InvalidInputError(f"unknown bar field {field!r}; use one of price, {BAR_FIELDS}")
    return name
