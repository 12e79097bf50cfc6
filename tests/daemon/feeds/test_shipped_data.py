"""Replay of the shipped files (tests/data): first and last timestamps, counts, rejections."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal

from core.market import Slice
from daemon.feeds import ReplayFeed
from tests.support.market_data import DAILY_OHLCV, DATA_DIR, daily_slices, load_closes


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


async def collect(feed: ReplayFeed) -> list[Slice]:
    return [market async for market in feed]


def data_rows(name: str) -> int:
    with open(DATA_DIR / name, newline="") as fh:
        return sum(1 for _ in fh) - 1


async def test_daily_ohlcv_files_replay_like_the_reference_loader() -> None:
    files = [DATA_DIR / DAILY_OHLCV[s] for s in ("NVDA", "ORCL", "YHOO")]
    feed = ReplayFeed(files)
    assert [p.symbol for p in feed.plans] == ["NVDA", "ORCL", "YHOO"]
    slices = await collect(feed)
    rows = sum(data_rows(f.name) for f in files)
    assert rows == 4012 + 5036 + 4965
    assert feed.stats.bars == rows - feed.stats.rejected_total
    assert feed.stats.rejected_total == 0
    assert (slices[0].ts, slices[-1].ts) == (day(1995, 1, 3), day(2015, 12, 31))
    assert feed.stats.last_ts == day(2015, 12, 31)
    assert slices == daily_slices()


async def test_single_daily_file() -> None:
    feed = ReplayFeed(DATA_DIR / DAILY_OHLCV["NVDA"])
    slices = await collect(feed)
    assert (slices[0].ts, slices[-1].ts) == (day(1999, 1, 22), day(2014, 12, 31))
    assert len(slices) == feed.stats.bars == 4012
    assert str(slices[0]["NVDA"].high) == "1.953125"


async def test_minute_futures_file_with_headerless_time_column() -> None:
    name = "futures-2006-ohlcv-1min.csv"
    feed = ReplayFeed({"ES": DATA_DIR / name})
    slices = await collect(feed)
    assert len(slices) == feed.stats.bars == data_rows(name) == 30889
    assert feed.stats.rejected_total == 0
    assert slices[0].ts == datetime(2006, 1, 2, 9, 1, tzinfo=UTC)
    assert slices[-1].ts == datetime(2006, 2, 27, 22, 0, tzinfo=UTC)
    first = slices[0]["ES"]
    assert (str(first.open), str(first.close)) == ("3602.00", "3599.00")
    assert first.volume == Decimal(5699)


async def test_wide_close_file() -> None:
    name = "stock_prices_daily_1990_2018.csv"
    feed = ReplayFeed(DATA_DIR / name)
    slices = await collect(feed)
    expected = load_closes(name)
    assert feed.stats.bars == sum(len(bars) for bars in expected.values())
    assert feed.stats.rejected_total == 0
    assert len(slices) == data_rows(name) == 7126
    assert (slices[0].ts, slices[-1].ts) == (day(1989, 12, 29), day(2018, 4, 11))
    assert "GOOG" not in slices[0] and len(slices[-1]) == 20
    goog = [s["GOOG"] for s in slices if "GOOG" in s]
    assert goog == expected["GOOG"]
    assert all(bar.volume is None for bar in goog)


async def test_spy_closes_with_a_symbol_filter_and_window() -> None:
    feed = ReplayFeed(DATA_DIR / "spy_prices_daily.csv", start="2019-01-01", end="2019-12-31")
    slices = await collect(feed)
    with open(DATA_DIR / "spy_prices_daily.csv", newline="") as fh:
        expected = [r for r in csv.DictReader(fh) if r["date"].startswith("2019")]
    assert len(slices) == len(expected)
    assert [str(s["SPY"].close) for s in slices[:2]] == [r["SPY"] for r in expected[:2]]
    none = ReplayFeed(DATA_DIR / "spy_prices_daily.csv", symbols={"QQQ"})
    assert await collect(none) == []
