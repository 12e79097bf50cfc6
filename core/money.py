"""Decimal money helpers: conversion of user input and the quanta paperfund rounds to.

Money is Decimal end to end. Amounts are exact except where a quantum below is applied
explicitly, so the same inputs always give the same digits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    getcontext,
    setcontext,
)
from typing import Any, TypeVar

from core.errors import InvalidInputError

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
BPS = Decimal(10_000)

CASH_QUANTUM = Decimal("0.01")
"""Capital transfers and commissions are rounded to cents."""

PRICE_QUANTUM = Decimal("0.00000001")
"""Fill prices after slippage are rounded to 1e-8."""

WEIGHT_QUANTUM = Decimal("0.0000000001")
"""Allocation weights handed to the fund are multiples of 1e-10."""

WEIGHT_NOISE = Decimal("1e-18")
"""A weight total above 1 by at most this much is Decimal rounding noise, not an error."""

Number = Decimal | int | str | float

FUND_DECIMALS = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
"""The decimal context the fund's money is computed in while its strategies step (Python's
defaults): the daemon's steps, `PortfolioAllocator.execute_bar`, and every ledger method a
strategy calls. Strategy code never gets it: it runs in a context of its own
(`strategy_decimals`), so a strategy that sets `getcontext().prec`, a rounding or a trap
changes its own arithmetic, not the fund's, in every hosting mode alike (`core.step.run_step`
switches between them). The fund's entry points run in it whatever their caller's context is
(`in_fund_decimals`): every method of `PortfolioAllocator` and `AllocationRebalancer`, the
allocation algorithms' `calculate_allocations`, `StrategyPerformance`'s flows."""

_Function = TypeVar("_Function", bound=Callable[..., Any])


def in_fund_decimals(function: _Function) -> _Function:
    """`function`, run in `FUND_DECIMALS` whatever decimal context its caller has set (a
    notebook's `getcontext().prec = 6`, a strategy's own); the caller's context is current
    again after it. Cheap when the fund's context is already current."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        outer = getcontext()
        if outer is FUND_DECIMALS:
            return function(*args, **kwargs)
        setcontext(FUND_DECIMALS)
        try:
            return function(*args, **kwargs)
        finally:
            setcontext(outer)

    return run  # type: ignore[return-value]


def strategy_decimals() -> Context:
    """A new strategy's own decimal context: the fund's settings, no flags raised yet (the
    fund's own flags depend on what this process computed before), to change as it likes."""
    decimals = FUND_DECIMALS.copy()
    decimals.clear_flags()
    return decimals


def to_decimal(value: object, *, field: str = "value") -> Decimal:
    """Convert Decimal, int, str or float (through its shortest repr) to a finite Decimal.

    Raises `InvalidInputError` (a `ValueError`) naming `field` for anything else, for NaN and
    for infinities.
    """
    if isinstance(value, bool):
        raise InvalidInputError(f"{field} must be a number, got bool {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except ArithmeticError:
            raise InvalidInputError(f"{field} must be a number, got {value!r}") from None
    else:
        raise InvalidInputError(f"{field} must be a number, got {type(value).__name__} {value!r}")
    if not result.is_finite():
        raise InvalidInputError(f"{field} must be finite, got {value!r}")
    return result


def quantize_cash(amount: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    return amount.quantize(CASH_QUANTUM, rounding=rounding)


def quantize_price(price: Decimal) -> Decimal:
    return price.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)


def quantize_weight(weight: Decimal) -> Decimal:
    """Round a weight down to the weight quantum, so totals never grow by rounding."""
    return weight.quantize(WEIGHT_QUANTUM, rounding=ROUND_DOWN)


def format_pct(fraction: Decimal | float, places: int = 2) -> str:
    """0.05 -> '5.00%' (the seed's string format for percentages)."""
    return f"{float(fraction) * 100:.{places}f}%"


def format_pct_or_na(fraction: Decimal | float | None, places: int = 2) -> str:
    """As `format_pct`, and 'n/a' for None: a ratio that is not defined is never shown as 0."""
    return "n/a" if fraction is None else format_pct(fraction, places)


CENTS_DIGITS = 100
"""Amounts of up to this many digits are written out to the cent; larger ones (from 1e98)
stay as they are, in exponent form: the fund computes with 28 significant digits, so they
have no cents to show, and writing 1e999999999 out would take a billion characters."""


def to_cents(amount: Decimal) -> Decimal:
    """`amount` rounded half-even to cents, with as many digits as that takes (from 1e26
    on, more than the fund's 28), up to `CENTS_DIGITS`; a larger amount as it is."""
    digits = amount.adjusted() + 3
    if digits <= FUND_DECIMALS.prec:
        return amount.quantize(CASH_QUANTUM, ROUND_HALF_EVEN, FUND_DECIMALS)
    if digits > CENTS_DIGITS:
        return amount
    wide = Context(prec=digits, Emin=FUND_DECIMALS.Emin, Emax=FUND_DECIMALS.Emax)
    return amount.quantize(CASH_QUANTUM, ROUND_HALF_EVEN, wide)


def format_money(amount: Decimal) -> str:
    return str(to_cents(amount))


PERCENT_PLACES = 2
"""Percentages (returns, weights, drawdowns) shown to people have this many decimal places."""


def format_amount(amount: Decimal | float) -> str:
    """Money for people: cents, thousands separated, '-' for negatives: '-1,234,567.80'.

    The text summary, the report page and the charts' axes write money this way; a Decimal
    is rounded half-even to cents, so the same amount always reads the same.
    """
    cents = to_cents(to_decimal(amount, field="amount"))
    if cents.adjusted() + 3 > CENTS_DIGITS:
        return str(cents)  # exponent form: see CENTS_DIGITS
    return f"{cents.copy_abs() if cents.is_zero() else cents:,.2f}"


def decimal_string(value: Decimal | float | int) -> str:
    """An exact decimal string in positional notation, for JSON: never an exponent.

    `Decimal("0E-10")` gives '0.0000000000' and `Decimal("1E+3")` '1000', where `str` gives
    '0E-10' and '1E+3'; a float goes through its shortest repr (`1e-05` gives '0.00001').
    Digits are kept, never rounded, and a zero has no sign. Raises `InvalidInputError` for
    NaN and infinities, which JSON cannot carry as numbers either.
    """
    exact = to_decimal(value, field="decimal")
    return format(exact.copy_abs() if exact.is_zero() else exact, "f")
