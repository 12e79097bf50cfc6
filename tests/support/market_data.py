"""Load the shipped market data (tests/data) into bars and slices."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from core.errors import InvalidBarError
from core.market import Bar, Slice

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DAILY_OHLCV = {
    "NVDA": "nvda-1999-2014-ohlcv-daily.csv",
    "ORCL": "orcl-1995-2014-ohlcv-daily.csv",
    "YHOO": "yhoo-1996-2015-ohlcv-daily.csv",
}


def _day(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)


def load_ohlcv(symbol: str) -> list[Bar]:
    """Daily bars of one shipped OHLCV file; bars breaking OHLC rules are skipped."""
    bars = []
    with open(DATA_DIR / DAILY_OHLCV[symbol], newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                bars.append(
                    Bar.of(
                        _day(row["Date"]),
                        symbol,
                        row["Open"],
                        row["High"],
                        row["Low"],
                        row["Close"],
                        row["Volume"],
                    )
                )
            except InvalidBarError:
                continue
    return bars


def load_closes(filename: str = "stock_prices_daily_1990_2018.csv") -> dict[str, list[Bar]]:
    """Close-only files: one flat bar (o = h = l = c, unknown volume) per non-blank cell."""
    series: dict[str, list[Bar]] = {}
    with open(DATA_DIR / filename, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        symbols = header[1:]
        for row in reader:
            ts = _day(row[0])
            for symbol, cell in zip(symbols, row[1:], strict=True):
                if cell.strip():
                    series.setdefault(symbol, []).append(Bar.flat(ts, symbol, Decimal(cell)))
    return series


def align(series: Iterable[list[Bar]]) -> list[Slice]:
    """Group bars of several symbols into slices by timestamp (a symbol may be missing)."""
    by_ts: dict[datetime, dict[str, Bar]] = {}
    for bars in series:
        for bar in bars:
            by_ts.setdefault(bar.ts, {})[bar.symbol] = bar
    return [Slice(ts, by_ts[ts]) for ts in sorted(by_ts)]


def daily_slices(symbols: Iterable[str] = ("NVDA", "ORCL", "YHOO")) -> list[Slice]:
    return align(load_ohlcv(s) for s in symbols)


def iter_window(slices: list[Slice], start: str, end: str) -> Iterator[Slice]:
    lo, hi = _day(start), _day(end)
    return (s for s in slices if lo <= s.ts <= hi)
