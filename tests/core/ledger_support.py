"""Bars and slices for the ledger, fill and cost tests: day `i` after a fixed start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.market import Bar, Slice

T0 = datetime(2024, 1, 2, tzinfo=UTC)


def ts(i: int) -> datetime:
    return T0 + timedelta(days=i)


def bar(
    i: int,
    symbol: str,
    open: object,
    high: object = None,
    low: object = None,
    close: object = None,
    volume: object = None,
) -> Bar:
    """A bar on day `i`; high/low/close default to the open."""
    high = open if high is None else high
    low = open if low is None else low
    close = open if close is None else close
    return Bar.of(ts(i), symbol, open, high, low, close, volume)


def market(i: int, *bars: Bar) -> Slice:
    return Slice(ts(i), {b.symbol: b for b in bars})


def flat(i: int, prices: dict[str, object], volume: object = None) -> Slice:
    """A slice on day `i` of flat bars (open = high = low = close)."""
    return Slice(ts(i), {s: Bar.flat(ts(i), s, p, volume) for s, p in prices.items()})


def D(value: str | int) -> Decimal:
    return Decimal(value)
