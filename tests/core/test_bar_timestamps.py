"""`execute_bar` refuses a timestamp that cannot be a bar's at once; the fund is left as it was."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from core import PortfolioAllocator
from core.errors import InvalidInputError
from core.market import check_next_timestamp

BAR = {"AAA": {"price": 100, "volume": 1_000}}
T0 = datetime(2024, 1, 2)


class Holder:
    def handle_data(self, context, data, ledger) -> None:
        context.seen = getattr(context, "seen", 0) + 1


def fund() -> PortfolioAllocator:
    f = PortfolioAllocator(Decimal("100000"))
    f.add_strategy("s", Holder(), Decimal("0.5"))
    return f


def unchanged(f: PortfolioAllocator, count: int, last: datetime | None) -> None:
    assert f.execution_count == count
    assert f.current_timestamp == last
    assert f.total_capital == Decimal("100000")


@pytest.mark.parametrize(
    "bad",
    ["2024-01-02", "2024-01-02T00:00:00", 1_704_153_600, 1.5, date(2024, 1, 2), None, pd.NaT],
    ids=["str-date", "str-iso", "int", "float", "date", "none", "nat"],
)
def test_first_bar_with_a_non_datetime_is_refused_at_once(bad: object) -> None:
    f = fund()
    with pytest.raises(InvalidInputError, match="timestamp must be a datetime"):
        f.execute_bar(bad, BAR)  # type: ignore[arg-type]
    unchanged(f, 0, None)
    f.execute_bar(T0, BAR)  # the fund still takes a proper bar afterwards
    unchanged(f, 1, T0)


def test_a_str_after_datetimes_is_refused_without_type_error() -> None:
    f = fund()
    f.execute_bar(T0, BAR)
    with pytest.raises(InvalidInputError, match="got str"):
        f.execute_bar("2024-01-03", BAR)  # type: ignore[arg-type]
    unchanged(f, 1, T0)


@pytest.mark.parametrize("first_aware", [True, False])
def test_mixing_naive_and_aware_timestamps_is_an_input_error(first_aware: bool) -> None:
    aware = datetime(2024, 1, 2, tzinfo=UTC)
    naive = datetime(2024, 1, 3)
    first, second = (aware, naive) if first_aware else (naive, aware + timedelta(days=2))
    f = fund()
    f.execute_bar(first, BAR)
    with pytest.raises(InvalidInputError, match=r"naive|tz-aware"):
        f.execute_bar(second, BAR)
    unchanged(f, 1, first)


def test_not_after_the_last_bar_is_refused() -> None:
    f = fund()
    f.execute_bar(T0, BAR)
    for ts in (T0, T0 - timedelta(seconds=1)):
        with pytest.raises(InvalidInputError, match="is not after"):
            f.execute_bar(ts, BAR)
    unchanged(f, 1, T0)


def test_pandas_timestamps_are_datetimes() -> None:
    f = fund()
    f.execute_bar(pd.Timestamp("2024-01-02"), BAR)
    f.execute_bar(datetime(2024, 1, 3), BAR)  # a plain datetime may follow a Timestamp
    assert f.execution_count == 2


def test_check_next_timestamp_returns_its_argument() -> None:
    assert check_next_timestamp(T0, None) is T0
    later = T0 + timedelta(minutes=1)
    assert check_next_timestamp(later, T0) is later
