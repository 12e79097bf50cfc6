"""Journal payload format of a `Slice`: compact, exact JSON.

    {"bars":[["NVDA","1.50","1.75","1.40","1.70","1200"],...],"ts":"2000-01-03T00:00:00+00:00","v":1}

Each bar is `[symbol, open, high, low, close, volume]`; Decimals are written with `str`, so
their exact digits and exponent survive (`"1.50"` stays `Decimal("1.50")`), and an unknown
volume is `null`. The timestamp is ISO 8601 and keeps its UTC offset (a zoneinfo zone comes
back as the equal fixed offset). Bars keep the slice's iteration order: a replayed slice
iterates exactly like the original, which matters for bit-identical replay. Keys are sorted
and separators compact, so equal slices encode to equal bytes.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import InvalidBarError, InvalidInputError
from core.market import Bar, Slice
from daemon.persistence.errors import CodecError

SLICE_FORMAT_VERSION = 1


def encode_slice(data: Slice) -> bytes:
    """The journal payload of `data`; `decode_slice` returns an equal `Slice`.

    Written by hand on the hot path; the bytes are those of
    `json.dumps(document, sort_keys=True, separators=(",", ":"))` (a test holds it to that).
    Decimal strings and ISO timestamps need no JSON escaping; symbols are escaped by `json`.
    """
    bars = ",".join(  # `!s`: str() of a Decimal, three times faster than its __format__
        f'[{_symbol_json(symbol)},"{bar.open!s}","{bar.high!s}","{bar.low!s}","{bar.close!s}",'
        + ("null]" if bar.volume is None else f'"{bar.volume!s}"]')
        for symbol, bar in data.items()
    )
    return f'{{"bars":[{bars}],"ts":"{data.ts.isoformat()}","v":{SLICE_FORMAT_VERSION}}}'.encode()


_SYMBOL_CACHE_SIZE = 65_536
_symbol_json_cache: dict[str, str] = {}


def _symbol_json(symbol: str) -> str:
    """A symbol as a JSON string (cached: a fund trades a bounded set of symbols)."""
    encoded = _symbol_json_cache.get(symbol)
    if encoded is None:
        if len(_symbol_json_cache) >= _SYMBOL_CACHE_SIZE:
            _symbol_json_cache.clear()
        encoded = _symbol_json_cache[symbol] = json.dumps(symbol)
    return encoded


def decode_slice(payload: bytes) -> Slice:
    """Rebuild the `Slice` written by `encode_slice`; anything else raises `CodecError`."""
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodecError(f"slice payload is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("v") != SLICE_FORMAT_VERSION:
        raise CodecError("slice payload has no supported format version")
    try:
        ts = datetime.fromisoformat(document["ts"])
        bars = [_decode_bar(ts, item) for item in document["bars"]]
        return Slice(ts, {bar.symbol: bar for bar in bars})
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        # InvalidBarError and InvalidInputError are ValueErrors: a bar breaking OHLCV rules or
        # a bar filed under the wrong symbol is as undecodable as malformed JSON.
        kind = "invalid bar" if isinstance(exc, InvalidBarError | InvalidInputError) else "bad"
        raise CodecError(f"{kind} slice payload: {exc!r}") from None


def _decode_bar(ts: datetime, item: Any) -> Bar:
    symbol, open_, high, low, close, volume = item
    if not isinstance(symbol, str):
        raise TypeError(f"symbol must be a string, got {symbol!r}")
    prices = [_decimal(value) for value in (open_, high, low, close)]
    vol = None if volume is None else _decimal(volume)
    return Bar(ts, symbol, prices[0], prices[1], prices[2], prices[3], vol)


def _decimal(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise TypeError(f"decimal must be written as a string, got {value!r}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"non-finite decimal {value!r}")
    return number
