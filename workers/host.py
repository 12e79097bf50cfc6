"""The host of one strategy: its object, its `context`, its `Ledger` and its market history.

`StrategyHost` is synchronous and runs wherever the strategy runs (the event loop's thread for
an `InProcessWorker`, a child process for a `ProcessWorker`). Both kinds of worker drive it
through the same message protocol, so they give the same results and raise the same errors:

    message = (op, args)                    args: a tuple of positional arguments
    reply   = ("ok", value)                 the operation's return value
            | ("error", type_name, text)    it raised `type_name(text)`; nothing half-done

Operations (`StrategyHost.OPERATIONS`) and their replies:

    initialize()                  -> None       run the strategy's `initialize(context)`
    step(market, trading)         -> StepOutcome
    deposit(amount)               -> value after
    withdraw(amount | None)       -> (moved, costs, value after, cash after)   None: everything
    cancel_orders(reason)         -> number of orders cancelled
    release_positions()           -> [Position.to_state(), ...]     orders cancelled first
    ledger_state()                -> Ledger.to_state()
    restore_ledger(state)         -> None       the ledger back as ledger_state() gave it
    snapshot()                    -> bytes      restore(bytes) -> None

A child process also answers `build` (create the host from an import path) and `close`
(reply, then exit); see `workers/process.py`. `unwrap(reply)` turns a reply back into a value
or an exception: the core's and this package's errors keep their classes, anything else
becomes a `RemoteError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Context, Decimal
from time import perf_counter
from typing import TYPE_CHECKING, Any, NamedTuple

from core import errors as core_errors
from core.costs import CommissionModel, NoCommission, NoSlippage, SlippageModel
from core.errors import InvalidInputError, describe, exception_name, exception_text
from core.fills import FillModel
from core.history import DEFAULT_HISTORY_BARS, BarData, MarketHistory
from core.ledger import Ledger
from core.market import Slice
from core.money import ZERO, strategy_decimals
from core.orders import new_record
from core.step import StepReport, StrategyContext, initialize_strategy, run_step
from core.transfers import withdraw_from
from workers import errors as worker_errors
from workers import kept_orders
from workers.errors import RemoteError, StrategyLoadError, StrategyNotSaveable
from workers.loader import build_strategy

if TYPE_CHECKING:
    from workers.factory import WorkerSpec

SNAPSHOT_VERSION = 1
PICKLE_PROTOCOL = kept_orders.PICKLE_PROTOCOL

Message = tuple[str, tuple[Any, ...]]
Reply = tuple[Any, ...]


@dataclass(frozen=True)
class LedgerConfig:
    """How a host builds its ledger: cost and fill models (configuration, not state)."""

    commission: CommissionModel = field(default_factory=NoCommission)
    slippage: SlippageModel = field(default_factory=NoSlippage)
    fill_model: FillModel = field(default_factory=FillModel)
    allow_short: bool = False
    allow_negative_cash: bool = False

    def new_ledger(self) -> Ledger:
        return Ledger(
            commission=self.commission,
            slippage=self.slippage,
            fill_model=self.fill_model,
            allow_negative_cash=self.allow_negative_cash,
            allow_short=self.allow_short,
        )

    def ledger_from_state(self, state: dict[str, Any]) -> Ledger:
        """A ledger restored from `Ledger.to_state()` (the flags come from the state)."""
        return Ledger.from_state(
            state, commission=self.commission, slippage=self.slippage, fill_model=self.fill_model
        )


class StepOutcome(NamedTuple):
    """A `StepReport` plus the wall-clock time the step took inside the host.

    `overrun` is set by an in-process worker when the step took longer than its deadline
    (it cannot be pre-empted); a process worker kills the child instead.
    """

    report: StepReport
    duration_s: float
    overrun: bool = False


class StrategyHost:
    """One strategy, its context, its ledger and its own market history (synchronous)."""

    OPERATIONS = frozenset(
        {
            "initialize",
            "step",
            "deposit",
            "withdraw",
            "cancel_orders",
            "release_positions",
            "ledger_state",
            "restore_ledger",
            "snapshot",
            "restore",
        }
    )

    def __init__(
        self,
        strategy_id: str,
        strategy: object,
        ledger: LedgerConfig | None = None,
        *,
        history_bars: int = DEFAULT_HISTORY_BARS,
    ) -> None:
        self.strategy_id = strategy_id
        self.strategy = strategy
        self.ledger_config = ledger or LedgerConfig()
        self.context = StrategyContext(strategy_id)
        self.ledger = self.ledger_config.new_ledger()
        self.history = MarketHistory(history_bars)
        self.decimals = strategy_decimals()
        """The strategy's own decimal context (`core.money.FUND_DECIMALS`), snapshotted."""

    def handle(self, message: Message) -> Reply:
        """Run one protocol message; never raises (errors become error replies)."""
        try:
            op, args = message
            if op not in self.OPERATIONS:
                raise worker_errors.WorkerError(f"unknown operation {op!r}")
            method: Callable[..., Any] = getattr(self, op)
            return ("ok", method(*args))
        except Exception as exc:
            return error_reply(exc)

    # ---- operations ------------------------------------------------------------------
    def initialize(self) -> None:
        try:
            initialize_strategy(self.strategy, self.context, self.decimals)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # untrusted strategy code; SystemExit is its failure
            raise StrategyLoadError(
                f"strategy {self.strategy_id} failed to initialize: {describe(exc)}"
            ) from exc

    def step(self, market: Slice, trading: bool) -> StepOutcome:
        """Append `market` to the history, then fill, mark and (if trading) run the strategy."""
        ledger = self.ledger
        last = ledger.last_ts
        if last is not None and not market.ts > last:
            raise InvalidInputError(f"slice {market.ts} is not after {last}")
        started = perf_counter()
        history = self.history
        history.append(market)
        data = BarData(market, history)
        report = run_step(
            self.strategy_id,
            self.strategy,
            self.context,
            ledger,
            data,
            trading=trading,
            decimals=self.decimals,
        )
        outcome = (report, perf_counter() - started, False)
        return new_record(StepOutcome, outcome)  # see core.orders.new_record

    def deposit(self, amount: Decimal) -> Decimal:
        self.ledger.transfer_in(amount)
        return self.ledger.portfolio_value

    def withdraw(self, amount: Decimal | None) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        moved, costs = withdraw_from(self.ledger, amount)
        return moved, costs, self.ledger.portfolio_value, self.ledger.cash

    def cancel_orders(self, reason: str) -> int:
        return self.ledger.cancel_all_orders(reason)

    def release_positions(self) -> list[dict[str, Any]]:
        self.ledger.cancel_all_orders("positions released")
        return [position.to_state() for position in self.ledger.release_positions()]

    def ledger_state(self) -> dict[str, Any]:
        return self.ledger.to_state()

    def restore_ledger(self, state: dict[str, Any]) -> None:
        """Put the ledger back as `ledger_state()` gave it; the strategy, its context and
        the orders it kept (now the restored ledger's) are left as they are."""
        ledger = self.ledger_config.ledger_from_state(state)
        book = self.ledger._orders
        kept_orders.rebind(ledger, [*book.open, *book.closed])
        self.ledger = ledger

    def snapshot(self) -> bytes:
        """Strategy object, context, ledger state and history, pickled together (so that
        objects shared between the strategy and its context stay shared)."""
        state = {
            "version": SNAPSHOT_VERSION,
            "strategy_id": self.strategy_id,
            "strategy": self.strategy,
            "context": self.context,
            "ledger": self.ledger.to_state(),
            "history": self.history,
            "decimals": self.decimals,
        }
        try:
            return kept_orders.dumps(state)  # orders the strategy kept stay its ledger's
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # state pickle cannot save; SystemExit from a __reduce__
            raise StrategyNotSaveable(
                f"strategy {self.strategy_id} cannot be saved: {_unsaveable(self)}: "
                f"{describe(exc)} (keep data in a strategy and its context, not locks, "
                f"open files or connections, lambdas or generators)"
            ) from None

    def restore(self, snapshot: bytes) -> None:
        """Replace strategy, context, ledger and history by a snapshot's (all or nothing)."""
        try:
            state, kept = kept_orders.loads(snapshot)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the strategy's code no longer loads what it saved
            raise StrategyLoadError(
                f"strategy {self.strategy_id}: its snapshot cannot be loaded: {describe(exc)} "
                f"(it holds the strategy's objects as its code defined them when saved: run "
                f"that code again, or start the fund afresh in another state directory)"
            ) from None
        if not isinstance(state, dict) or state.get("version") != SNAPSHOT_VERSION:
            raise InvalidInputError("not a strategy host snapshot of a known version")
        if state["strategy_id"] != self.strategy_id:
            raise InvalidInputError(
                f"snapshot of {state['strategy_id']!r} cannot restore {self.strategy_id!r}"
            )
        ledger = self.ledger_config.ledger_from_state(state["ledger"])
        kept_orders.rebind(ledger, kept)
        self.strategy = state["strategy"]
        self.context = state["context"]
        self.history = state["history"]
        decimals = state.get("decimals")  # snapshots of earlier versions have none
        self.decimals = decimals if isinstance(decimals, Context) else strategy_decimals()
        self.ledger = ledger


def _unsaveable(host: StrategyHost) -> str:
    """Where the first object that cannot be pickled is: `context.<name>`,
    `strategy.<name>`, or the strategy as a whole."""
    for owner, obj in (("context", host.context), ("strategy", host.strategy)):
        for name, value in list(getattr(obj, "__dict__", {}).items()):
            try:
                kept_orders.dumps(value)
            except KeyboardInterrupt:
                raise
            except BaseException:
                return f"{owner}.{name}"
    return "its strategy object or context"


def build_host(
    strategy_id: str,
    strategy_path: str,
    params: dict[str, Any],
    ledger: LedgerConfig,
    history_bars: int,
) -> StrategyHost:
    """Import and build the strategy, then a host around it (not initialised yet)."""
    strategy = build_strategy(strategy_path, params)
    return StrategyHost(strategy_id, strategy, ledger, history_bars=history_bars)


# ---- the protocol ----------------------------------------------------------------------
def _known_errors() -> dict[str, type[Exception]]:
    known: dict[str, type[Exception]] = {}
    for module in (core_errors, worker_errors):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Exception):
                known[value.__name__] = value
    for name in ("InvalidBarError", "RemoteError"):  # constructors that take more than text
        del known[name]
    return known


_KNOWN_ERRORS = _known_errors()


def error_reply(exc: BaseException) -> Reply:
    return ("error", exception_name(exc), exception_text(exc))


def unwrap(reply: Reply) -> Any:
    """The value of an "ok" reply; raise the error an "error" reply describes."""
    if reply[0] == "ok":
        return reply[1]
    _, type_name, text = reply
    cls = _KNOWN_ERRORS.get(type_name)
    if cls is None:
        raise RemoteError(type_name, text)
    raise cls(text)


# ---- the async face ------------------------------------------------------------------
class HostClient(ABC):
    """The async API of a worker, whichever way it reaches its `StrategyHost`.

    Subclasses say how a host is opened, discarded and called (`_call(op, args, timeout_s)`
    returns the unwrapped reply); everything else is written once, here.
    """

    spec: WorkerSpec

    @property
    @abstractmethod
    def alive(self) -> bool:
        """True while the worker has a host to call (started, not crashed, not closed)."""

    @abstractmethod
    async def _open(self) -> None:
        """Build the host from `spec` (not initialised, no cash)."""

    @abstractmethod
    async def _discard(self) -> None:
        """Drop the current host, if any, whatever its state."""

    @abstractmethod
    async def _call(self, op: str, args: tuple[Any, ...], timeout_s: float) -> Any: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def start(self, initial_cash: Decimal = ZERO) -> Decimal:
        """Build the strategy, run `initialize(context)`, check that a snapshot can hold
        its state (`StrategyNotSaveable` if not), deposit `initial_cash`.

        On failure the half-built host is discarded (a child process is ended)."""
        await self._open()
        try:
            timeout_s = self.spec.control_timeout_s
            await self._call("initialize", (), timeout_s)
            await self._call("snapshot", (), timeout_s)  # `StrategyNotSaveable`: refused now
            return await self.deposit(initial_cash)
        except Exception:
            await self._discard()
            raise

    async def restart(self, snapshot: bytes) -> None:
        """Discard the host (a dead child included), build a new one, restore `snapshot`."""
        await self._discard()
        await self._open()
        await self.restore(snapshot)

    async def step(self, market: Slice, trading: bool, *, replay: bool = False) -> StepOutcome:
        """Step the host. `replay`: the step completed once before (it is re-run from the
        journal or a worker's operation log), so it is bounded by `control_timeout_s`, not
        by the step deadline: a slow restart must not time out a step that did not time out
        live."""
        spec = self.spec
        timeout_s = (
            max(spec.step_timeout_s, spec.control_timeout_s) if replay else spec.step_timeout_s
        )
        outcome: StepOutcome = await self._call("step", (market, trading), timeout_s)
        if outcome.duration_s > spec.step_timeout_s:
            return outcome._replace(overrun=True)
        return outcome

    async def deposit(self, amount: Decimal) -> Decimal:
        """Add cash; return the ledger's value after."""
        value: Decimal = await self._call("deposit", (amount,), self.spec.control_timeout_s)
        return value

    async def withdraw(self, amount: Decimal | None) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """Move `amount` (None: everything) out (forced sales when its cash is short);
        return (moved, costs, value after, cash after)."""
        result: tuple[Decimal, Decimal, Decimal, Decimal] = await self._call(
            "withdraw", (amount,), self.spec.control_timeout_s
        )
        return result

    async def cancel_orders(self, reason: str) -> int:
        count: int = await self._call("cancel_orders", (reason,), self.spec.control_timeout_s)
        return count

    async def release_positions(self) -> list[dict[str, Any]]:
        """Cancel orders, remove every position; return their `Position.to_state()`."""
        states: list[dict[str, Any]] = await self._call(
            "release_positions", (), self.spec.control_timeout_s
        )
        return states

    async def ledger_state(self) -> dict[str, Any]:
        state: dict[str, Any] = await self._call("ledger_state", (), self.spec.control_timeout_s)
        return state

    async def restore_ledger(self, state: dict[str, Any]) -> None:
        await self._call("restore_ledger", (state,), self.spec.control_timeout_s)

    async def snapshot(self) -> bytes:
        blob: bytes = await self._call("snapshot", (), self.spec.control_timeout_s)
        return blob

    async def restore(self, snapshot: bytes) -> None:
        await self._call("restore", (snapshot,), self.spec.control_timeout_s)
