"""Bars and slices for core tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.market import Bar, Slice

T0 = datetime(2024, 1, 2, tzinfo=UTC)


def ts(i: int) -> datetime:
    return T0 + timedelta(days=i)


def bar(i: int, symbol: str = "AAA", o="10", h=None, lo=None, c=None, volume="1000000") -> Bar:
    o = Decimal(str(o))
    c = Decimal(str(c)) if c is not None else o
    h = Decimal(str(h)) if h is not None else max(o, c)
    lo = Decimal(str(lo)) if lo is not None else min(o, c)
    return Bar(ts(i), symbol, o, h, lo, c, None if volume is None else Decimal(volume))


def market(i: int, **prices: str) -> Slice:
    """market(3, AAA="10", BBB="20"): flat bars at the given prices."""
    return Slice(ts(i), {s: bar(i, s, p) for s, p in prices.items()})
