"""The strategy step: one function shared by every driver of a strategy.

`run_step` fills the ledger's pending orders against the slice, marks it to market and, when
the strategy is trading, calls its `handle_data(context, data, ledger)` with the ledger's
`StrategyLedger` view (what strategy code may do; `core.strategy_ledger`). The in-process
`PortfolioAllocator` and the daemon's workers both call it, so a fund gives the same bytes
whichever way its strategies are hosted.
"""

from __future__ import annotations

import inspect
import types
from datetime import datetime
from decimal import Context, Decimal, setcontext
from typing import Any, NamedTuple, Protocol, runtime_checkable

from core.errors import InvariantViolation, describe, exception_name, exception_text
from core.history import BarData
from core.ledger import Ledger
from core.ledger_guard import check_holdings, holdings
from core.money import FUND_DECIMALS
from core.orders import Fill, new_record
from core.strategy_ledger import StrategyLedger

_DEFERRED_TYPES = (types.CoroutineType, types.GeneratorType, types.AsyncGeneratorType)
"""What a `handle_data` that is an async or generator function returns, its body not run."""


@runtime_checkable
class StrategyProtocol(Protocol):
    """What the fund needs of a strategy: the seed's `handle_data(context, data, ledger)`.

    `initialize(context)` is optional and runs once, when the strategy joins the fund.
    """

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None: ...


class StrategyContext:
    """The persistent `context` of one strategy: a free-form attribute bag.

    It survives from bar to bar (and, in the daemon, across restarts), so strategies keep
    their own state on it. `strategy_id` is set by the fund.
    """

    def __init__(self, strategy_id: str, **attributes: Any) -> None:
        self.strategy_id = strategy_id
        self.__dict__.update(attributes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StrategyContext):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"StrategyContext({items})"


class StepReport(NamedTuple):
    """What one strategy reports after a slice: its marked value and what happened.

    A NamedTuple: immutable, picklable, and cheap to build once per strategy per slice.
    """

    strategy_id: str
    ts: datetime
    value: Decimal
    cash: Decimal
    fills: tuple[Fill, ...]
    traded: bool
    error: str | None = None
    orders: int = 0
    """Orders the strategy placed in this step (rejected ones included)."""
    fault: str | None = None
    """A fault of the strategy that quarantines it at once (unlike `error`, which counts
    towards `max_consecutive_errors`): its code raised a `BaseException` such as
    `SystemExit`, or changed its ledger outside fills (`core.ledger_guard`; undone)."""


def strategy_problem(strategy: object) -> str | None:
    """Why `strategy` (a class or an object) cannot trade in a fund, or None: it has no
    callable `handle_data`, or its `handle_data` or `initialize` is a coroutine or generator
    function, which calling does not run (the fund calls them, it does not await or
    iterate them)."""
    if not callable(getattr(strategy, "handle_data", None)):
        return "has no handle_data method"
    for name in ("handle_data", "initialize"):
        method = getattr(strategy, name, None)
        if method is not None and _deferred(method):
            return (
                f"{name} is an async or generator function, which the fund would call "
                f"without running it: make it a plain method"
            )
    return None


def _deferred(function: object) -> bool:
    return (
        inspect.iscoroutinefunction(function)
        or inspect.isgeneratorfunction(function)
        or inspect.isasyncgenfunction(function)
    )


def _not_run(result: object) -> str:
    """The error of a `handle_data` that returned `result`, a coroutine or generator whose
    body never ran (closed here, so it does not warn later)."""
    close = getattr(result, "close", None)
    if callable(close):
        close()
    return (
        f"handle_data returned a {type(result).__name__} instead of running: it is an async "
        f"or generator function, which the fund calls without awaiting or iterating it"
    )


def initialize_strategy(
    strategy: Any, context: StrategyContext, decimals: Context | None = None
) -> None:
    """Run the optional `initialize(context)` hook (in `decimals`, as `run_step` does)."""
    initialize = getattr(strategy, "initialize", None)
    if not callable(initialize):
        return
    if decimals is None:
        initialize(context)
        return
    setcontext(decimals)
    try:
        initialize(context)
    finally:
        setcontext(FUND_DECIMALS)


def run_step(
    strategy_id: str,
    strategy: Any,
    context: StrategyContext,
    ledger: Ledger,
    data: BarData,
    *,
    trading: bool,
    interrupts: bool = False,
    decimals: Context | None = None,
) -> StepReport:
    """Fill pending orders at this slice, mark to market, then let the strategy trade.

    Whatever goes wrong in one strategy's step is that strategy's fault, never the fund's:
    the error is returned in the report, where the fund book counts it (and quarantines after
    repeated errors), deterministically, so a replay gives the same result.

    - A strategy that raises in `handle_data`: whatever it did to its own ledger before
      raising stands (orders it placed stay open).
    - Cash and positions that changed during `handle_data` (only code that reached past
      its `StrategyLedger` can do that) are put back, and the report carries a `fault`.
    - Filling or marking that fails (any `Exception`, `decimal` signals such as `Overflow`
      included; bars beyond what the arithmetic can take): the ledger is left as it was
      before the slice (`Ledger.process_slice` is all or nothing) and `handle_data` is not
      called for this slice.
    - A `BaseException` from `handle_data` (`SystemExit`, `GeneratorExit`...) is a fault of
      the strategy (quarantine), not the end of the fund. `KeyboardInterrupt` too, unless
      `interrupts` is set: `PortfolioAllocator` lets it propagate (a real Ctrl-C at the
      terminal; it finishes the bar first), while a worker host, which never receives
      SIGINT as an exception, counts it as the strategy's fault.

    An `InvariantViolation` is a bug of the fund, not of the strategy: it propagates.

    `decimals`: the strategy's own decimal context (`core.money.strategy_decimals`), current
    while its `handle_data` runs (the ledger methods it calls included); the fund's
    (`FUND_DECIMALS`) is made current again after it, whatever the code did.
    """
    try:
        fills = ledger.process_slice(data.slice)
    except InvariantViolation:
        raise
    except Exception as exc:  # the slice cannot be applied to this ledger
        failure = f"{type(exc).__name__} while filling and marking: {exc}"
        return StepReport(
            strategy_id, data.slice.ts, ledger.portfolio_value, ledger.cash, (), trading, failure
        )
    error: str | None = None
    fault: str | None = None
    orders = 0
    if trading:
        book = ledger._orders  # its id counter counts the orders placed
        placed = book.next_id
        before = holdings(ledger)  # what only fills may change; see core.ledger_guard
        if decimals is not None:
            setcontext(decimals)
        try:
            result = strategy.handle_data(context, data, ledger._view or ledger.strategy_view())
            if result is not None and isinstance(result, _DEFERRED_TYPES):
                error = _not_run(result)
        except Exception as exc:  # strategy code is untrusted; isolate its failure
            error = describe(exc)
        except BaseException as exc:
            if interrupts and isinstance(exc, KeyboardInterrupt):
                raise
            fault = f"{exception_name(exc)} raised by strategy code: {exception_text(exc)}"
        finally:
            if decimals is not None:
                setcontext(FUND_DECIMALS)
            changed = check_holdings(ledger, before)
        if changed is not None:
            fault = changed if fault is None else f"{fault}; {changed}"
        orders = book.next_id - placed
    cash = ledger._cash
    value = ledger._positions_value  # cached by the mark; `portfolio_value`, without two calls
    value = cash + (ledger.positions_value if value is None else value)
    report = (strategy_id, data.slice.ts, value, cash, tuple(fills), trading, error, orders, fault)
    return new_record(StepReport, report)  # every field, in order: see `new_record`
