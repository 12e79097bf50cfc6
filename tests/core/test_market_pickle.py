"""Slices and bars cross process boundaries pickled (shards, process workers, Ray): they
come back equal, of the same types, with every Decimal's digits and the timestamp's zone."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from core.market import Bar, Slice

STAMPS = [
    datetime(2024, 3, 4, 15, 30, 1, 999_999, tzinfo=UTC),
    datetime(2024, 3, 4, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2024, 11, 3, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=1),
    datetime(2024, 3, 4, 9, 30),
    pd.Timestamp("2024-03-04 09:30:00.000001", tz="UTC"),
]

# Written by paperfund before slices had a pickled form of their own (the dataclass's state
# functions): a snapshot holding a ledger's last slice may carry one.
OLD_PICKLE = bytes.fromhex(
    "80059538010000000000008c0b636f72652e6d61726b6574948c05536c6963659493942981944e7d9428"
    "8c027473948c086461746574696d65948c086461746574696d65949394430a07e803040f1e0000000094"
    "68068c0874696d657a6f6e6594939468068c0974696d6564656c74619493944b004b004b0087945294"
    "85945294869452948c055f62617273947d94288c04414220439468008c034261729493942981945d94"
    "28681368168c07646563696d616c948c07446563696d616c9493948c04312e35309485945294681d8c"
    "04312e37359485945294681d8c04312e34309485945294681d8c04312e37309485945294681d8c0431"
    "323030948594529465628c01589468182981945d94286813682d681d8c01329485945294681d8c0132"
    "9485945294681d8c01329485945294681d8c013294859452944e656275758694622e"
)


def _market(ts: datetime) -> Slice:
    return Slice(
        ts,
        {
            "AB C": Bar(ts, "AB C", Decimal("1.50"), Decimal("1.75"), Decimal("1.40"),
                        Decimal("1.70"), Decimal("1.2E+3")),
            "X": Bar(ts, "X", Decimal("2"), Decimal("2.0"), Decimal("1e-28"), Decimal("2.00")),
            "Z": Bar(ts, "Z", Decimal("9"), Decimal("9"), Decimal("9"), Decimal("9"), Decimal(0)),
            "BIG": Bar(ts, "BIG", *[Decimal("9.999999999999999999999999999E+999999")] * 4,
                       Decimal("1E+999999")),
        },
    )  # fmt: skip


def _same(back: Slice, market: Slice) -> None:
    assert type(back) is type(market)
    assert back == market
    assert list(back) == list(market)  # the bars' order: a replayed slice iterates alike
    assert type(back.ts) is type(market.ts)
    assert back.ts.tzinfo == market.ts.tzinfo and back.ts.fold == market.ts.fold
    assert back.ts.utcoffset() == market.ts.utcoffset()
    for symbol, bar in market.items():
        assert repr(back[symbol]) == repr(bar)  # every amount with its own digits
        assert back[symbol].ts is back.ts


@pytest.mark.parametrize("ts", STAMPS, ids=str)
def test_a_slice_pickles_exactly(ts: datetime) -> None:
    market = _market(ts)
    for protocol in (pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
        _same(pickle.loads(pickle.dumps(market, protocol=protocol)), market)
    assert pickle.dumps(market) == pickle.dumps(market)  # worked out once, the same each time
    _same(copy.deepcopy(market), market)
    empty = Slice(ts)
    _same(pickle.loads(pickle.dumps(empty)), empty)


def test_a_bar_pickles_exactly_and_is_validated_again() -> None:
    bar = _market(STAMPS[0])["AB C"]
    back = pickle.loads(pickle.dumps(bar))
    assert type(back) is Bar and repr(back) == repr(bar)
    assert pickle.loads(pickle.dumps(Bar(STAMPS[0], "V", Decimal(1), Decimal(1), Decimal(1),
                                         Decimal(1)))).volume is None  # fmt: skip


def test_a_slice_pickled_before_its_own_form_loads_and_pickles_again() -> None:
    old = pickle.loads(OLD_PICKLE)
    ts = datetime(2024, 3, 4, 15, 30, tzinfo=UTC)
    assert old == Slice(
        ts,
        {
            "AB C": Bar(ts, "AB C", Decimal("1.50"), Decimal("1.75"), Decimal("1.40"),
                        Decimal("1.70"), Decimal("1200")),
            "X": Bar(ts, "X", Decimal("2"), Decimal("2"), Decimal("2"), Decimal("2")),
        },
    )  # fmt: skip
    _same(pickle.loads(pickle.dumps(old)), old)


class _TaggedSlice(Slice):
    pass


def test_a_subclass_of_slice_pickles_as_itself() -> None:
    market = _TaggedSlice(STAMPS[0], dict(_market(STAMPS[0]).items()))
    _same(pickle.loads(pickle.dumps(market)), market)
