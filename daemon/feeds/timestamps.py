"""Timestamps of market data: every bar's `ts` is an aware UTC `datetime`.

Accepted: ISO 8601 text (or text in a `strptime` format), `datetime` (pandas `Timestamp`
included) and `date` values, with an optional separate time-of-day cell. A date alone is
midnight; a time cell is combined with the date part. Naive values are wall time in the given
zone (UTC unless said otherwise); aware ones keep their offset. The result is converted to UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from datetime import time as clock_time
from functools import lru_cache

NO_TIME = object()
"""The time cell of a table without a time column."""


def plain(value: datetime) -> datetime:
    """A plain `datetime` for a subclass such as pandas' `Timestamp` (bars hold plain ones)."""
    if type(value) is datetime:
        return value
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        value.tzinfo,
    )


def to_utc(value: datetime | str, zone: tzinfo = UTC) -> datetime:
    """An instant from ISO text or a datetime; naive values are wall time in `zone`."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    value = plain(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


@lru_cache(maxsize=8192)
def _date_text(text: str, date_format: str | None) -> datetime:
    if date_format is None:
        return datetime.fromisoformat(text)
    return datetime.strptime(text, date_format)


@lru_cache(maxsize=4096)
def _time_text(text: str) -> clock_time:
    return clock_time.fromisoformat(text.strip())


def _wall_time(date_cell: object, date_format: str | None) -> datetime:
    if isinstance(date_cell, str):
        return _date_text(date_cell.strip(), date_format)
    if isinstance(date_cell, datetime):
        return plain(date_cell)
    if isinstance(date_cell, date):
        return datetime(date_cell.year, date_cell.month, date_cell.day)
    raise ValueError(f"expected a date, got {type(date_cell).__name__}")


def _time_of_day(time_cell: object) -> clock_time:
    if isinstance(time_cell, str):
        return _time_text(time_cell)
    if isinstance(time_cell, clock_time):
        return time_cell
    raise ValueError(f"expected a time of day, got {type(time_cell).__name__}")


def parse_timestamp(
    date_cell: object,
    time_cell: object = NO_TIME,
    date_format: str | None = None,
    zone: tzinfo = UTC,
) -> datetime:
    """One UTC timestamp from a date cell and an optional time cell; raises ValueError."""
    wall = _wall_time(date_cell, date_format)
    if time_cell is not NO_TIME:
        moment = _time_of_day(time_cell)
        offset = moment.tzinfo or wall.tzinfo
        wall = datetime.combine(wall.date(), moment.replace(tzinfo=None), tzinfo=offset)
    return to_utc(wall, zone)
