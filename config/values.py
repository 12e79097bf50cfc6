"""Value types of the settings: Decimal money and fractions, durations, timestamps, names.

Decimals accept numbers or strings; floats convert through their shortest repr (0.1 → 0.1, not
0.1000000000000000055…), exactly as the core converts them; booleans, NaN and infinities are
rejected. Integer and float settings (`Whole`, `Real`) reject booleans too.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field

from core.errors import InvalidInputError
from core.money import to_decimal

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


class StrictModel(BaseModel):
    """Base of every settings section: unknown options are errors; instances are frozen."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


def _decimal(value: object) -> Decimal:
    try:
        return to_decimal(value, field="value")
    except InvalidInputError as exc:
        raise ValueError(str(exc).removeprefix("value ")) from None


def _duration(value: object) -> object:
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
            return timedelta(seconds=seconds)
    return value


def _positive_duration(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"must be a positive duration, got {value}")
    return value


def _timestamp(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def _utc_if_naive(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    duplicates = []
    for value in values:
        if value in seen:
            duplicates.append(value)
        seen.add(value)
    if duplicates:
        raise ValueError(f"duplicate entries: {', '.join(map(str, duplicates))}")
    return values


def _not_bool(value: object) -> object:
    if isinstance(value, bool):  # YAML reads yes/no/on/off/true/false as booleans
        raise ValueError(f"must be a number, got a boolean ({str(value).lower()})")
    return value


Whole = Annotated[int, BeforeValidator(_not_bool)]
"""An integer setting: a whole number, or a string of one (environment variables); never a
boolean, which the validator would otherwise read as 1 or 0."""
Real = Annotated[float, BeforeValidator(_not_bool)]
"""A float setting: a number, or a string of one; never a boolean."""

PositiveDecimal = Annotated[Decimal, BeforeValidator(_decimal), Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, BeforeValidator(_decimal), Field(ge=0)]
Fraction = Annotated[Decimal, BeforeValidator(_decimal), Field(ge=0, le=1)]
"""A Decimal in [0, 1]: a share of the fund."""

Duration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_positive_duration)]
"""A positive duration: `1d`, `15m`, `30s`, `250ms`, `2h`, `1w`, seconds, or ISO 8601 (`P1D`)."""

Timestamp = Annotated[datetime, BeforeValidator(_timestamp), AfterValidator(_utc_if_naive)]
"""A date or datetime; naive values are UTC."""


def _matching(pattern: str, what: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


Name = Annotated[
    str,
    Field(min_length=1, max_length=128),
    _matching(r"[A-Za-z0-9_.:\-]+", "a valid name (letters, digits and _ . : -)"),
]
"""Identifiers that end up in metrics labels, file names and commands."""

Symbol = Annotated[
    str,
    Field(min_length=1, max_length=32),
    _matching(r"[A-Za-z0-9_.:/\-^=]+", "a valid symbol (letters, digits and _ . : / - ^ =)"),
]

SymbolList = Annotated[list[Symbol], Field(min_length=1), AfterValidator(_unique)]
"""A non-empty list of distinct symbols."""

ClassPath = Annotated[
    str,
    _matching(
        r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*|[A-Za-z0-9_.\-]+",
        "'package.module:Class' or an entry point name",
    ),
]
"""`package.module:Class` or the name of a `paperfund.strategies` entry point."""


def tagged(field: str, default: str | None = None) -> Discriminator:
    """Discriminator of a union whose members are tagged with their `field` value; a mapping
    without `field` is the `default` member (so an environment override of one option of a
    section the file left out still finds its member)."""

    def tag(value: Any) -> Any:
        if isinstance(value, dict):
            return value.get(field, default)
        return getattr(value, field, None)

    tag.__name__ = field  # error messages read "found using kind()"
    return Discriminator(tag)


def _paths_shape(value: Any) -> str:
    return "mapping" if isinstance(value, dict) else "list"


PATHS_SHAPE = Discriminator(_paths_shape)
"""Discriminator of `list[...] | dict[...]` unions (tags "list" and "mapping")."""
