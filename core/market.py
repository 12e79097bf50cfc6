"""Market data as the core sees it: validated `Bar`s grouped into `Slice`s by timestamp."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn

from core.errors import InvalidBarError, InvalidInputError
from core.money import to_decimal

BAR_FIELDS = ("open", "high", "low", "close", "volume")
"""Fields of a bar; `price` is accepted as an alias of `close` wherever a field is named."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar. Prices are positive Decimals; `volume` is None when unknown.

    Construction validates the bar and raises `InvalidBarError` with a reason code:
    `non_positive_price`, `high_below_low`, `open_outside_range`, `close_outside_range`,
    `negative_volume`. Use `Bar.of(...)` to convert ints, strings and floats.
    """

    ts: datetime
    symbol: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None = None

    def __post_init__(self) -> None:
        if min(self.open, self.high, self.low, self.close) <= 0:
            raise InvalidBarError("non_positive_price", f"{self.symbol}: prices must be > 0")
        if self.high < self.low:
            raise InvalidBarError("high_below_low", f"{self.symbol}: high < low")
        if not self.low <= self.open <= self.high:
            raise InvalidBarError("open_outside_range", f"{self.symbol}: open outside [low, high]")
        if not self.low <= self.close <= self.high:
            raise InvalidBarError(
                "close_outside_range", f"{self.symbol}: close outside [low, high]"
            )
        if self.volume is not None and self.volume < 0:
            raise InvalidBarError("negative_volume", f"{self.symbol}: volume < 0")

    @classmethod
    def of(
        cls,
        ts: datetime,
        symbol: str,
        open: object,
        high: object,
        low: object,
        close: object,
        volume: object = None,
    ) -> Bar:
        """Build a bar from any numbers; NaN and infinities raise `InvalidBarError`."""
        try:
            prices = [
                to_decimal(v, field=f)
                for v, f in zip((open, high, low, close), BAR_FIELDS[:4], strict=True)
            ]
            vol = None if volume is None else to_decimal(volume, field="volume")
        except InvalidInputError as exc:
            raise InvalidBarError("non_finite", f"{symbol}: {exc}") from None
        return cls(ts, symbol, prices[0], prices[1], prices[2], prices[3], vol)

    @classmethod
    def flat(cls, ts: datetime, symbol: str, price: object, volume: object = None) -> Bar:
        """A bar where open = high = low = close = price (the seed's `{"price": ...}` form)."""
        return cls.of(ts, symbol, price, price, price, price, volume)

    @property
    def price(self) -> Decimal:
        return self.close

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its constructor's arguments (validated again when unpickled), not
        through the dataclass's state functions, which look its fields up on every call."""
        fields = (self.ts, self.symbol, self.open, self.high, self.low, self.close, self.volume)
        return type(self), fields

    def __getitem__(self, field: str) -> Any:
        """`bar["price"]`, `bar["close"]`, `bar["volume"]`... (the seed's mapping access)."""
        if field == "price":
            return self.close
        if field in BAR_FIELDS:
            return getattr(self, field)
        raise KeyError(field)


class Slice(Mapping[str, Bar]):
    """All bars of one timestamp: the unit of synchronisation. Maps symbol -> Bar.

    Read-only once built (setting `ts`, or building it again with `__init__`, raises
    `AttributeError`): one slice is handed to every strategy stepped in a process, and
    what one of them sees, and fills at, must be what the others see."""

    __slots__ = ("ts", "_bars", "_pickled")

    ts: datetime
    _bars: dict[str, Bar]
    _pickled: tuple[Any, ...] | None

    def __init__(self, ts: datetime, bars: Mapping[str, Bar] | None = None) -> None:
        if hasattr(self, "ts"):
            read_only(self, "ts")
        checked = dict(bars or {})
        for symbol, bar in checked.items():
            if bar.symbol != symbol:
                raise InvalidInputError(f"bar for {bar.symbol!r} filed under {symbol!r}")
            if bar.ts != ts:
                raise InvalidInputError(f"bar {symbol} at {bar.ts} in slice {ts}")
        _SLICE_TS(self, ts)
        _SLICE_BARS(self, checked)
        _SLICE_PICKLED(self, None)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        read_only(self, name)

    def __delattr__(self, name: str) -> NoReturn:
        read_only(self, name)

    def __setstate__(self, state: tuple[Any, dict[str, Any]]) -> None:
        """A slice pickled before `__reduce__` was written: its slots' values."""
        if hasattr(self, "ts"):
            read_only(self, "ts")
        slots = state[1]
        _SLICE_TS(self, slots["ts"])
        _SLICE_BARS(self, slots["_bars"])
        _SLICE_PICKLED(self, None)

    @classmethod
    def coerce(cls, ts: datetime, data: object) -> Slice:
        """Accept a `Slice`, a mapping of symbol -> `Bar`, or the seed's mapping of
        symbol -> `{"price": ..., "volume": ...}` (or open/high/low/close keys)."""
        if isinstance(data, Slice):
            if data.ts != ts:
                raise InvalidInputError(f"slice at {data.ts} passed for timestamp {ts}")
            return data
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"market data must be a mapping, got {type(data).__name__}")
        bars: dict[str, Bar] = {}
        for symbol, item in data.items():
            bars[symbol] = _coerce_bar(ts, str(symbol), item)
        return cls(ts, bars)

    def __getitem__(self, symbol: str) -> Bar:
        return self._bars[symbol]

    def get(self, symbol: str, default: Bar | None = None) -> Bar | None:  # type: ignore[override]
        return self._bars.get(symbol, default)

    def items(self) -> ItemsView[str, Bar]:
        return self._bars.items()

    def __iter__(self) -> Iterator[str]:
        return iter(self._bars)

    def __len__(self) -> int:
        return len(self._bars)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._bars

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Slice):
            return NotImplemented
        return self.ts == other.ts and self._bars == other._bars

    def __hash__(self) -> int:
        return hash((self.ts, tuple(self._bars.items())))

    def __repr__(self) -> str:
        return f"Slice({self.ts!s}, {sorted(self._bars)})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled compactly, and worked out once per slice (a slice goes to every shard and
        process worker, and does not change): the symbols, and every bar's numbers as one
        string (`str` of each Decimal, exact both ways; unpickling builds and validates the
        bars again), a UTC timestamp as its fields. Pickling each `Decimal` and `datetime`
        on its own costs several times more. A subclass, or a bar of another type, goes as
        the constructor's arguments."""
        reduced = getattr(self, "_pickled", None)  # unset in a slice unpickled before it
        if reduced is None:
            reduced = _reduce_slice(self)
            _SLICE_PICKLED(self, reduced)
        return reduced


_SLICE_TS = Slice.__dict__["ts"].__set__  # the slots themselves, past `Slice.__setattr__`
_SLICE_BARS = Slice.__dict__["_bars"].__set__
_SLICE_PICKLED = Slice.__dict__["_pickled"].__set__


def read_only(obj: object, name: str) -> NoReturn:
    raise AttributeError(
        f"{type(obj).__name__} is read-only (cannot set {name!r}): every strategy stepped "
        f"with it sees the same market",
        name=name,
        obj=obj,
    )


def _reduce_slice(market: Slice) -> tuple[Any, ...]:
    bars = market._bars
    if type(market) is not Slice or any(type(bar) is not Bar for bar in bars.values()):
        return type(market), (market.ts, bars)
    numbers = " ".join(
        f"{bar.open!s} {bar.high!s} {bar.low!s} {bar.close!s} {bar.volume!s}"
        for bar in bars.values()
    )
    ts = market.ts
    stamp: tuple[int, ...] | datetime = ts
    if type(ts) is datetime and ts.tzinfo is UTC:
        stamp = (ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, ts.microsecond, ts.fold)
    return _unpickle_slice, (stamp, tuple(bars), numbers)


def _unpickle_slice(
    stamp: tuple[int, ...] | datetime, symbols: tuple[str, ...], numbers: str
) -> Slice:
    """The `Slice` that `_reduce_slice` took apart."""
    if isinstance(stamp, datetime):
        ts = stamp
    else:
        year, month, day, hour, minute, second, microsecond, fold = stamp
        ts = datetime(year, month, day, hour, minute, second, microsecond, UTC, fold=fold)
    values = numbers.split(" ")
    bars = {}
    for i, symbol in enumerate(symbols):
        o, h, lo, c, v = values[5 * i : 5 * i + 5]
        volume = None if v == "None" else Decimal(v)
        bars[symbol] = Bar(ts, symbol, Decimal(o), Decimal(h), Decimal(lo), Decimal(c), volume)
    return Slice(ts, bars)


def check_next_timestamp(timestamp: object, last: datetime | None) -> datetime:
    """Return `timestamp` if it can follow `last`; raise `InvalidInputError` otherwise.

    A bar's timestamp must be a `datetime` (pandas `Timestamp` included; a `str`, a `date` or
    a number is refused at once, not on the next bar's comparison), not NaT, naive or
    tz-aware like the bars before it, and strictly after `last`.
    """
    if not isinstance(timestamp, datetime):
        raise InvalidInputError(
            f"timestamp must be a datetime, got {type(timestamp).__name__} {timestamp!r}"
        )
    if timestamp != timestamp:  # noqa: PLR0124 (NaT, the one datetime unequal to itself)
        raise InvalidInputError("timestamp must be a datetime, got NaT")
    if last is None:
        return timestamp
    if _is_aware(timestamp) != _is_aware(last):
        kinds = ("naive", "tz-aware") if _is_aware(last) else ("tz-aware", "naive")
        raise InvalidInputError(
            f"timestamp {timestamp} is {kinds[0]} but the bars before it are {kinds[1]}"
        )
    if not timestamp > last:
        raise InvalidInputError(f"timestamp {timestamp} is not after {last}")
    return timestamp


def _is_aware(ts: datetime) -> bool:
    return ts.tzinfo is not None and ts.utcoffset() is not None


def _coerce_bar(ts: datetime, symbol: str, item: object) -> Bar:
    if isinstance(item, Bar):
        if item.ts != ts or item.symbol != symbol:
            return Bar(ts, symbol, item.open, item.high, item.low, item.close, item.volume)
        return item
    if not isinstance(item, Mapping):
        raise InvalidInputError(f"{symbol}: bar must be a Bar or a mapping, got {item!r}")
    volume = item.get("volume")
    if "close" in item or "open" in item:
        missing = [f for f in ("open", "high", "low", "close") if f not in item]
        if missing:
            raise InvalidInputError(f"{symbol}: bar mapping lacks {', '.join(missing)}")
        return Bar.of(ts, symbol, item["open"], item["high"], item["low"], item["close"], volume)
    if "price" not in item:
        raise InvalidInputError(f"{symbol}: bar mapping needs 'price' or open/high/low/close")
    return Bar.flat(ts, symbol, item["price"], volume)
