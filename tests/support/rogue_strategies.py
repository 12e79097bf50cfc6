"""Strategies that try to move money outside fills, or fault, on purpose (built by import
path, so process workers can build them too)."""

from __future__ import annotations

import gc
import threading
import time
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation, getcontext
from typing import Any

from core.history import BarData
from core.ledger import Ledger
from core.market import Bar, Slice
from core.strategy_ledger import StrategyLedger
from tests.workers.sample_strategies import _Unprintable
from workers.strategy import Strategy


class CallsFundOperation(Strategy):
    """Calls `operation` on its ledger on bar `on_bar` and records what it raised."""

    def __init__(self, operation: str = "transfer_in", on_bar: int = 2) -> None:
        self.operation = operation
        self.on_bar = on_bar

    def initialize(self, context: Any) -> None:
        context.bars = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        if context.bars == self.on_bar:
            getattr(ledger, self.operation)(Decimal(1_000_000))


class ReachesTheLedger(Strategy):
    """On bar `on_bar` finds the raw `Ledger` behind its view (`how`: "slot", through the
    view's private slot, or "gc", through the garbage collector's referents) and adds
    `amount` to its cash, or to its position's mark ("mark"), or adds a position
    ("position")."""

    def __init__(self, how: str = "slot", what: str = "cash", on_bar: int = 3) -> None:
        self.how, self.what, self.on_bar = how, what, on_bar

    def initialize(self, context: Any) -> None:
        context.bars = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        if context.bars == 1:
            ledger.order("AAA", 10)
        if context.bars != self.on_bar:
            return
        raw = self._raw(ledger)
        if self.what == "cash":
            raw._cash += Decimal(1_000_000)
        elif self.what == "mark":
            raw._positions["AAA"].last_price *= 1000
            raw._positions_value = None
        else:
            raw.add_position("BBB", Decimal(1000), Decimal(1), Decimal(1))

    def _raw(self, ledger: StrategyLedger) -> Ledger:
        if self.how == "slot":
            return ledger._ledger
        found = [obj for obj in gc.get_referents(ledger) if isinstance(obj, Ledger)]
        return found[0]


class OrdersThenFails(Strategy):
    """Orders 10 AAA on every bar; on bar `fail_on` it orders, then raises `error`."""

    def __init__(self, fail_on: int = 3, error: str = "RuntimeError") -> None:
        self.fail_on = fail_on
        self.error = error

    def initialize(self, context: Any) -> None:
        context.bars = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        ledger.order("AAA", 10)
        if context.bars == self.fail_on:
            if self.error == "SystemExit":
                raise SystemExit(3)
            if self.error == "KeyboardInterrupt":
                raise KeyboardInterrupt
            raise RuntimeError("broken on purpose")


class Steady(Strategy):
    """Buys 5 AAA on its first bar and counts its bars."""

    def initialize(self, context: Any) -> None:
        context.bars = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        if context.bars == 1:
            ledger.order("AAA", 5)


class LimitThenHangs(Strategy):
    """Places a buy limit far below the market on its first bar (it stays open), then on bar
    `on_bar` never returns (past any step deadline)."""

    def __init__(self, on_bar: int = 3) -> None:
        self.on_bar = on_bar

    def initialize(self, context: Any) -> None:
        context.bars = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        if context.bars == 1:
            ledger.order("AAA", 10, limit_price=1)
        if context.bars == self.on_bar:
            threading.Event().wait()


class SaysReadyThenSlow(Strategy):
    """On bar `on_bar` writes one line to stdout (the test's signal that it is inside
    `handle_data`) and then takes `slow_s` seconds: a slow strategy to press Ctrl-C in."""

    def __init__(self, on_bar: int = 3, slow_s: float = 60.0) -> None:
        self.on_bar, self.slow_s = on_bar, slow_s

    def initialize(self, context: Any) -> None:
        context.bars = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        ledger.order("AAA", 1)
        if context.bars == self.on_bar:
            print("inside handle_data", flush=True)
            # Short naps: a Ctrl-C that lands between the print and a nap is raised at
            # the next one, where one long sleep would not notice it until it ended.
            deadline = time.monotonic() + self.slow_s
            while time.monotonic() < deadline:
                time.sleep(0.05)


class FailsToInitialize(Strategy):
    """Builds, then raises in `initialize`: it cannot join a fund."""

    def initialize(self, context: Any) -> None:
        raise RuntimeError("no data source configured")

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        pass


class InitializesBadly(Strategy):
    """Its `initialize` raises an exception whose `__str__` raises."""

    def initialize(self, context: Any) -> None:
        raise _Unprintable()

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        pass


class OwnDecimals(Strategy):
    """Sets its own decimal arithmetic in `initialize` (3 digits, rounding down, no trap on
    invalid operations), then buys int(10000 / 3) AAA on its first bar: 3330 in its own
    arithmetic, 3333 in the fund's. It sets the precision again on every bar, as careless
    code might."""

    def initialize(self, context: Any) -> None:
        decimals = getcontext()
        decimals.prec = 3
        decimals.rounding = ROUND_DOWN
        decimals.traps[InvalidOperation] = False
        context.bought = False

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        getcontext().prec = 3
        if not context.bought:
            ledger.order("AAA", int(Decimal(10000) / Decimal(3)))
            context.bought = True


class RewritesItsOrder(Strategy):
    """On its first bar buys 10 AAA and tries to change the order it got back, and the same
    order found through `open_orders` and `get_order`, to 1,000 shares (and to a commission
    already paid, or filled); it counts the refusals. On its second bar it checks that the
    order it kept shows the fill of 10, and raises if anything went otherwise."""

    TRIES = (("amount", Decimal(1000)), ("commission", Decimal(-50)), ("filled", Decimal(10)))

    def initialize(self, context: Any) -> None:
        context.bars = 0
        context.order = None
        context.refused = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        if context.bars == 1:
            order = context.order = ledger.order("AAA", 10)
            for held in (order, ledger.open_orders[0], ledger.get_order(order.id)):
                for name, value in self.TRIES:
                    try:
                        setattr(held, name, value)
                    except AttributeError:
                        context.refused += 1
        elif context.bars == 2:
            order = context.order
            expected = 3 * len(self.TRIES)
            if context.refused != expected:
                raise RuntimeError(f"{expected - context.refused} changes were let through")
            if order.filled != 10 or order.is_open:
                raise RuntimeError(f"the order kept does not show its fill: {order!r}")


class RewritesTheMarket(Strategy):
    """On every bar tries to show the strategies stepped after it another market: AAA at 1
    in place of this slice, by replacing `data.slice`, building the slice again, or moving
    its timestamp; it counts the refusals and raises if any change was let through."""

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        market = data.slice
        ts = market.ts
        cheap = Slice(ts, {"AAA": Bar.flat(ts, "AAA", 1, 10**9)})
        tries = (
            lambda: setattr(data, "slice", cheap),
            lambda: delattr(data, "slice"),
            lambda: data.__init__(cheap, data._history),  # type: ignore[misc]
            lambda: setattr(market, "ts", ts + timedelta(days=1)),
            lambda: market.__init__(ts, {"AAA": cheap["AAA"]}),  # type: ignore[misc]
        )
        refused = 0
        for attempt in tries:
            try:
                attempt()
            except AttributeError:
                refused += 1
        if refused != len(tries) or data.slice is not market or data["AAA"].close == 1:
            raise RuntimeError(f"{len(tries) - refused} changes to the market were let through")


class BuysOnFirstBar(Strategy):
    """Buys `amount` AAA on its first bar, then holds whatever the price does."""

    def __init__(self, amount: int = 10) -> None:
        self.amount = amount

    def initialize(self, context: Any) -> None:
        context.bought = False

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        if not context.bought:
            ledger.order("AAA", self.amount)
            context.bought = True


class WaitsForItsOrder(Strategy):
    """Keeps the order it placed and places the next only once that one has closed: a buy
    limit 5 % under the close of `symbol` when flat, a market sale of everything when
    holding. It counts the bars it waited and the orders it placed."""

    def __init__(self, symbol: str = "AAA") -> None:
        self.symbol = symbol

    def initialize(self, context: Any) -> None:
        context.order = None
        context.waited = 0
        context.placed = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        kept = context.order
        if kept is not None and kept.is_open:
            context.waited += 1
            return
        symbol = self.symbol
        held = ledger.positions.get(symbol)
        if held is not None:
            context.order = ledger.order(symbol, -held.amount)
        else:
            limit = data[symbol].close * Decimal("0.95")
            context.order = ledger.order(symbol, 10, limit_price=limit)
        context.placed += 1


class KeepsALock(Strategy):
    """Buys 5 AAA on its first bar and puts a `threading.Lock`, which cannot be pickled, in
    its context on bar `on_bar` (0: in `initialize`)."""

    def __init__(self, on_bar: int = 3) -> None:
        self.on_bar = on_bar

    def initialize(self, context: Any) -> None:
        context.bars = 0
        if self.on_bar == 0:
            context.lock = threading.Lock()

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        if context.bars == 1:
            ledger.order("AAA", 5)
        if context.bars == self.on_bar:
            context.lock = threading.Lock()


def _hidden(method: Any) -> Any:
    """A plain function that calls `method` (a coroutine function) and returns its
    coroutine: a decorator that hides what `method` is from the fund's checks."""

    def call(*args: Any) -> Any:
        return method(*args)

    return call


class AsyncBehindADecorator(Strategy):
    """Its `handle_data` returns a coroutine that the fund never awaits: nothing it says
    runs, and the fund can tell only by what the call returns."""

    @_hidden
    async def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        ledger.order("AAA", 1)


class _ExitsWhenPickled:
    def __reduce__(self) -> Any:
        raise SystemExit("no saving me")


class ExitsWhenSaved(Strategy):
    """Keeps in its context an object whose pickling raises `SystemExit`."""

    def initialize(self, context: Any) -> None:
        context.trap = _ExitsWhenPickled()

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        pass
