"""Replay of CSV and Parquet files: layouts, column options, filters, errors, closing."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from core.market import Slice
from daemon.feeds import (
    Columns,
    FeedColumnError,
    FeedConfigError,
    FeedFileMissingError,
    FeedTimestampError,
    ReplayFeed,
    build_feed,
)
from tests.support.market_data import DATA_DIR

NVDA = DATA_DIR / "nvda-1999-2014-ohlcv-daily.csv"
CLOSES = DATA_DIR / "stock_prices_daily_1990_2018.csv"


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


async def collect(feed: ReplayFeed) -> list[Slice]:
    return [market async for market in feed]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


async def test_parquet_equals_csv(tmp_path: Path) -> None:
    parquet = tmp_path / "nvda.parquet"
    pd.read_csv(NVDA, parse_dates=["Date"]).to_parquet(parquet)
    from_csv = await collect(ReplayFeed({"NVDA": NVDA}, end="2003-12-31"))
    from_parquet = await collect(ReplayFeed({"NVDA": parquet}, end="2003-12-31"))
    assert len(from_csv) > 1000
    assert from_parquet == from_csv
    assert type(from_parquet[0].ts) is datetime


async def test_wide_parquet_with_text_dates_equals_csv(tmp_path: Path) -> None:
    parquet = tmp_path / "closes.pq"
    pd.read_csv(CLOSES, dtype={"date": str}).to_parquet(parquet)
    start, end = "2012-05-01", "2012-06-30"
    from_csv = await collect(ReplayFeed(CLOSES, start=start, end=end))
    from_parquet = await collect(ReplayFeed(parquet, start=start, end=end))
    assert from_parquet == from_csv
    assert "FB" not in from_csv[0] and "FB" in from_csv[-1]  # listed 2012-05-18


async def test_long_file_with_symbol_column_and_custom_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mixed.csv",
        "Ticker;When;O;H;L;C\nAAA;2024-01-02T15:30:00+01:00;1;2;1;2\n"
        "BBB;2024-01-02T14:30:00Z;3;3;3;3\nAAA;2024-01-03T14:30:00Z;2;2;2;2\n",
    )
    columns = {"symbol": "ticker", "date": "when", "open": "o", "high": "h", "low": "l"}
    with pytest.raises(FeedColumnError, match="'when'"):
        ReplayFeed(path, columns=columns)
    with pytest.raises(FeedColumnError, match="'close'"):
        ReplayFeed(path, columns=columns, delimiter=";")
    feed = ReplayFeed(path, columns=Columns(**columns, close="c"), delimiter=";")
    slices = await collect(feed)
    first = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert [(s.ts, sorted(s)) for s in slices] == [
        (first, ["AAA", "BBB"]),
        (datetime(2024, 1, 3, 14, 30, tzinfo=UTC), ["AAA"]),
    ]
    assert slices[0]["AAA"].volume is None


async def test_date_format_and_time_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "es_1min.csv",
        "day,time,open,high,low,close\n02/01/2006,09:01,1,1,1,1\n02/01/2006,09:02:30,2,2,2,2\n",
    )
    feed = ReplayFeed(path, columns={"date": "day"}, date_format="%d/%m/%Y")
    slices = await collect(feed)
    assert [s.ts for s in slices] == [
        datetime(2006, 1, 2, 9, 1, tzinfo=UTC),
        datetime(2006, 1, 2, 9, 2, 30, tzinfo=UTC),
    ]
    assert list(slices[0]) == ["ES"]


async def test_files_merge_by_timestamp_and_filters_apply(tmp_path: Path) -> None:
    a = write(
        tmp_path, "a.csv", "date,close,open,high,low\n2024-01-02,1,1,1,1\n2024-01-04,1,1,1,1\n"
    )
    b = write(tmp_path, "b_daily.csv", "DATE,OPEN,HIGH,LOW,CLOSE\n2024-01-03,2,2,2,2\n")
    c = tmp_path / "c.csv"  # never opened: filtered out by symbol
    feed = ReplayFeed([a, b], symbols={"A", "B"})
    assert [(s.ts.day, list(s)) for s in await collect(feed)] == [
        (2, ["A"]),
        (3, ["B"]),
        (4, ["A"]),
    ]
    c.write_text("date,open,high,low,close\n2024-01-03,3,3,3,3\n")
    narrowed = ReplayFeed([a, b, c], symbols=["A", "C"], start="2024-01-03", end="2024-01-03")
    assert [p.symbol for p in narrowed.plans] == ["A", "C"]
    assert [(s.ts.day, list(s)) for s in await collect(narrowed)] == [(3, ["C"])]


async def test_wide_close_symbols_filter_and_blanks(tmp_path: Path) -> None:
    path = write(
        tmp_path, "w.csv", "date,X,Y,Z\n2024-01-02,,1.5,2\n2024-01-03,,,\n2024-01-04,3,,\n"
    )
    feed = ReplayFeed(path, symbols={"X", "Y"}, layout="wide_close")
    slices = await collect(feed)
    assert [(s.ts.day, dict(s.items())) for s in slices] == [
        (2, {"Y": slices[0]["Y"]}),
        (4, {"X": slices[1]["X"]}),
    ]
    bar = slices[0]["Y"]
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        *[Decimal("1.5")] * 4,
        None,
    )


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(FeedFileMissingError) as missing:
        ReplayFeed(tmp_path / "nope.csv")
    assert missing.value.path == tmp_path / "nope.csv"
    with pytest.raises(FeedConfigError, match="layout"):
        ReplayFeed(NVDA, layout="tall")  # type: ignore[arg-type]
    with pytest.raises(FeedConfigError, match="unknown key"):
        ReplayFeed(NVDA, columns={"price": "Close"})
    with pytest.raises(FeedConfigError, match="start"):
        ReplayFeed(NVDA, start="yesterday")
    with pytest.raises(FeedConfigError, match="after end"):
        ReplayFeed(NVDA, start="2010-01-02", end="2010-01-01")
    with pytest.raises(FeedConfigError, match="symbol column"):
        ReplayFeed({"X": write(tmp_path, "l.csv", "date,symbol,open,high,low,close\n")})
    with pytest.raises(FeedConfigError, match="wide_close"):
        ReplayFeed({"X": CLOSES})
    with pytest.raises(FeedConfigError, match="at least one"):
        ReplayFeed([])


def test_bad_header_names_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "Date,Open,High,Low,Volume\n2024-01-02,1,1,1,1\n")
    with pytest.raises(FeedColumnError, match="'close'") as err:
        ReplayFeed(path)
    assert (err.value.column, err.value.path) == ("close", path)
    with pytest.raises(FeedColumnError, match="'Stamp'"):
        ReplayFeed(NVDA, columns={"date": "Stamp"})
    with pytest.raises(FeedColumnError, match="empty file"):
        ReplayFeed(write(tmp_path, "empty.csv", ""))


async def test_unparseable_timestamp_names_file_and_line(tmp_path: Path) -> None:
    text = "date,open,high,low,close\n2024-01-02,1,1,1,1\n2024-13-45,1,1,1,1\n"
    path = write(tmp_path, "t.csv", text)
    feed = ReplayFeed(path)
    with pytest.raises(FeedTimestampError, match=r"t\.csv, line 3: .*'2024-13-45'") as err:
        await collect(feed)
    assert (err.value.path, err.value.line, err.value.value) == (path, 3, "2024-13-45")
    timed = write(tmp_path, "u.csv", "date,time,open,high,low,close\n2024-01-02,25:00,1,1,1,1\n")
    with pytest.raises(FeedTimestampError, match="line 2"):
        await collect(ReplayFeed(timed))


async def test_closing_early_releases_files_and_ends_iteration() -> None:
    async with ReplayFeed(NVDA) as feed:
        first = await anext(feed)
        assert first.ts == day(1999, 1, 22)
    assert [s async for s in feed] == []
    assert feed.stats.slices == 1


async def test_build_feed_makes_a_replay_feed() -> None:
    feed = build_feed("replay", paths=str(NVDA), start="2014-12-30")
    assert isinstance(feed, ReplayFeed)
    assert [s.ts for s in await collect(feed)] == [day(2014, 12, 30), day(2014, 12, 31)]
    with pytest.raises(FeedConfigError, match="feed kind"):
        build_feed("nosuch")
    with pytest.raises(FeedConfigError, match="replay feed"):
        build_feed("replay", path=str(NVDA))


async def test_explicit_layouts_gzip_and_time_zone(tmp_path: Path) -> None:
    text = "Date,Symbol,Open,High,Low,Close\n2024-01-02,AAA,1,1,1,1\n2024-01-02,BBB,2,2,2,2\n"
    plain = write(tmp_path, "book.csv", text)
    packed = tmp_path / "book.csv.gz"
    with gzip.open(packed, "wt", newline="") as fh:
        fh.write(text)
    long = await collect(ReplayFeed(packed, layout="long"))
    assert long == await collect(ReplayFeed(plain))
    assert sorted(long[0]) == ["AAA", "BBB"]
    # per_symbol ignores a symbol column: every row is the file's symbol (a duplicate here)
    per_symbol = ReplayFeed({"ZZZ": plain}, layout="per_symbol")
    assert [list(s) for s in await collect(per_symbol)] == [["ZZZ"]]
    assert per_symbol.stats.rejected["duplicate"] == 1
    with pytest.raises(FeedColumnError, match="'symbol'"):
        ReplayFeed(NVDA, layout="long")
    zoned = ReplayFeed(
        plain, columns={"ts": "date"}, timezone="America/New_York", start="2024-01-02"
    )
    assert zoned.start == datetime(2024, 1, 2, 5, tzinfo=UTC)
    assert [s.ts for s in await collect(zoned)] == [datetime(2024, 1, 2, 5, tzinfo=UTC)]
    with pytest.raises(FeedConfigError, match="time zone"):
        ReplayFeed(plain, timezone="Mars/Olympus")


async def test_wide_alias_and_speed_none(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", "date,time,X\n2024-01-02,10:00:00+02:00,5\n")
    feed = ReplayFeed(path, layout="wide", speed=None)
    assert [s.ts for s in await collect(feed)] == [datetime(2024, 1, 2, 8, tzinfo=UTC)]


async def test_a_csv_row_with_a_huge_finite_number_is_out_of_range(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-02,10,11,9,10.5,1000\n"
        "2024-01-03,1e999999999,1e999999999,9,10,1000\n"
        "2024-01-04,10,12,9,11,1000\n",
    )
    feed = ReplayFeed({"X": path})
    slices = await collect(feed)
    assert [s.ts for s in slices] == [day(2024, 1, 2), day(2024, 1, 4)]
    assert feed.stats.rejected["out_of_range"] == 1
    strict = ReplayFeed({"X": path}, limits={"max_price": "11.5"})
    assert [s.ts for s in await collect(strict)] == [day(2024, 1, 2)]
    assert strict.stats.rejected["out_of_range"] == 2
