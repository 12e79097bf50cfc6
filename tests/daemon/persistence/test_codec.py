"""The slice codec: exact round trips on the shipped market data and on edge cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.market import Bar, Slice
from daemon.persistence import CodecError, StateStore, decode_slice, encode_slice
from tests.support.market_data import align, daily_slices, load_closes


def _same(a: Slice, b: Slice) -> None:
    assert a == b
    assert list(a) == list(b)  # iteration order survives
    assert a.ts.utcoffset() == b.ts.utcoffset()
    for symbol in a:
        for field in ("open", "high", "low", "close", "volume"):
            x, y = getattr(a[symbol], field), getattr(b[symbol], field)
            assert str(x) == str(y)  # same digits and exponent, not just equal values


def test_round_trip_on_daily_ohlcv() -> None:
    slices = daily_slices()
    assert len(slices) > 4000
    for original in slices:
        _same(decode_slice(encode_slice(original)), original)


def test_round_trip_keeps_unknown_volume() -> None:
    closes = load_closes()
    slices = align(list(closes.values())[:5])[:300]
    assert any(bar.volume is None for s in slices for bar in s.values())
    for original in slices:
        _same(decode_slice(encode_slice(original)), original)


def test_encoding_is_compact_sorted_json() -> None:
    ts = datetime(2020, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    data = Slice(ts, {"B": Bar.of(ts, "B", "1.50", "2", "1", "1.5"), "A": Bar.flat(ts, "A", 3)})
    raw = encode_slice(data)
    assert raw == (
        b'{"bars":[["B","1.50","2","1","1.5",null],["A","3","3","3","3",null]],'
        b'"ts":"2020-03-01T09:30:00+05:30","v":1}'
    )
    _same(decode_slice(raw), data)
    assert encode_slice(decode_slice(raw)) == raw


def test_empty_slice_round_trips() -> None:
    data = Slice(datetime(2001, 1, 1, tzinfo=UTC))
    _same(decode_slice(encode_slice(data)), data)


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe",
        b"not json",
        b"[]",
        b'{"bars":[],"ts":"2020-01-01T00:00:00+00:00","v":2}',
        b'{"bars":[],"ts":"yesterday","v":1}',
        b'{"bars":[["A","1","1","1"]],"ts":"2020-01-01T00:00:00+00:00","v":1}',
        b'{"bars":[["A",1,1,1,1,null]],"ts":"2020-01-01T00:00:00+00:00","v":1}',
        b'{"bars":[["A","1","2","3","1",null]],"ts":"2020-01-01T00:00:00+00:00","v":1}',
        b'{"bars":[["A","NaN","1","1","1",null]],"ts":"2020-01-01T00:00:00+00:00","v":1}',
        b'{"bars":[["A","x","1","1","1",null]],"ts":"2020-01-01T00:00:00+00:00","v":1}',
        b'{"bars":[[7,"1","1","1","1",null]],"ts":"2020-01-01T00:00:00+00:00","v":1}',
        b'{"ts":"2020-01-01T00:00:00+00:00","v":1}',
    ],
)
def test_garbage_raises_codec_error(raw: bytes) -> None:
    with pytest.raises(CodecError):
        decode_slice(raw)


prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e6"), places=4)


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=6), prices, st.none() | prices),
        max_size=6,
        unique_by=lambda item: item[0],
    ),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_round_trip_property(bars: list[tuple[str, Decimal, Decimal | None]], minutes: int) -> None:
    ts = datetime(2015, 6, 30, 23, 59, 59, 123456, tzinfo=timezone(timedelta(minutes=minutes)))
    data = Slice(ts, {s: Bar.flat(ts, s, p, v) for s, p, v in bars})
    raw = encode_slice(data)
    json.loads(raw)
    _same(decode_slice(raw), data)


def test_slices_survive_the_journal(tmp_path: Path) -> None:
    slices = daily_slices()[:500]
    with StateStore.open(tmp_path) as store:
        for data in slices:
            store.append("slice", encode_slice(data))
    with StateStore.open(tmp_path) as store:
        replayed = [decode_slice(record.payload) for record in store.records()]
    assert replayed == slices


def _reference_encoding(data: Slice) -> bytes:
    """The format's definition: sorted, compact `json.dumps` of the document."""
    bars = [
        [
            s,
            str(b.open),
            str(b.high),
            str(b.low),
            str(b.close),
            None if b.volume is None else str(b.volume),
        ]
        for s, b in data.items()
    ]
    document = {"bars": bars, "ts": data.ts.isoformat(), "v": 1}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


_prices = st.decimals(min_value=Decimal("1e-8"), max_value=Decimal("1e12"), allow_nan=False)


@given(
    symbols=st.lists(st.text(min_size=1, max_size=12), min_size=0, max_size=6, unique=True),
    price=_prices,
    exponent=st.integers(-12, 12),
    volume=st.none() | st.decimals(min_value=0, max_value=Decimal("1e15"), allow_nan=False),
    offset_minutes=st.integers(-14 * 60, 14 * 60),
)
def test_hand_written_encoding_equals_the_json_definition(
    symbols: list[str], price: Decimal, exponent: int, volume: Decimal | None, offset_minutes: int
) -> None:
    ts = datetime(2020, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    scaled = price.scaleb(exponent)
    bars = {s: Bar(ts, s, scaled, scaled, scaled, scaled, volume) for s in symbols}
    data = Slice(ts, bars)
    assert encode_slice(data) == _reference_encoding(data)
    _same(decode_slice(encode_slice(data)), data)


def test_hand_written_encoding_equals_the_json_definition_on_daily_ohlcv() -> None:
    for data in daily_slices()[:2000]:
        assert encode_slice(data) == _reference_encoding(data)
