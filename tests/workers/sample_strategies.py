"""Strategies that misbehave on purpose, for the worker tests (built by import path)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from core.history import BarData
from core.strategy_ledger import StrategyLedger
from workers.strategy import Strategy

NOT_A_CLASS = 42


class NoHandleData:
    """A class, but not a strategy."""


class AsyncHandleData(Strategy):
    """Its `handle_data` is a coroutine function: calling it runs nothing."""

    async def handle_data(self, context: Any, data: Any, ledger: Any) -> None:
        ledger.order("AAA", 1)


class GeneratorInitialize(Strategy):
    """Its `initialize` is a generator function: calling it runs nothing."""

    def initialize(self, context: Any) -> Any:
        context.ready = True
        yield

    def handle_data(self, context: Any, data: Any, ledger: Any) -> None:
        pass


class Idle(Strategy):
    """Does nothing: the cost of a step is the worker's own."""

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        return None


class _OnBar(Strategy):
    """Buys one share of `symbol` on its first bar and counts bars on the context; on bar
    number `on_bar` (1-based) it misbehaves."""

    def __init__(self, on_bar: int, symbol: str = "ORCL") -> None:
        self.on_bar = on_bar
        self.symbol = symbol

    def initialize(self, context: Any) -> None:
        context.bars = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        if context.bars == 1 and self.symbol in data:
            ledger.order(self.symbol, 1)
        if context.bars == self.on_bar:
            self.misbehave()

    def misbehave(self) -> None:
        raise NotImplementedError


class Sleeping(_OnBar):
    """Sleeps `sleep_s` on bar `on_bar`: past any reasonable step deadline."""

    def __init__(self, on_bar: int, sleep_s: float = 60.0, symbol: str = "ORCL") -> None:
        super().__init__(on_bar, symbol)
        self.sleep_s = sleep_s

    def misbehave(self) -> None:
        time.sleep(self.sleep_s)


class SlowWhenMarked(Strategy):
    """Buys one share of `symbol` every bar; while the file `marker` exists, its first
    `slow_bars` bars take `sleep_s` each (so a test can make steps slow only on a restart)."""

    def __init__(self, marker: str, sleep_s: float, slow_bars: int, symbol: str = "ORCL") -> None:
        self.marker = marker
        self.sleep_s = sleep_s
        self.slow_bars = slow_bars
        self.symbol = symbol

    def initialize(self, context: Any) -> None:
        context.bars = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        if context.bars <= self.slow_bars and os.path.exists(self.marker):
            time.sleep(self.sleep_s)
        if self.symbol in data:
            ledger.order(self.symbol, 1)


class Leveraged(Strategy):
    """Buys `shares` of `symbol` on its first bar, whatever its cash (with a ledger that
    allows negative cash, a price fall then leaves it in debt)."""

    def __init__(self, shares: int, symbol: str = "AAA") -> None:
        self.shares = shares
        self.symbol = symbol
        self.ordered = False

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        if not self.ordered and self.symbol in data:
            ledger.order(self.symbol, self.shares)
            self.ordered = True


class Exiting(_OnBar):
    """Ends its process abruptly on bar `on_bar`, as a crash in native code would."""

    def misbehave(self) -> None:
        os._exit(1)


class Raising(_OnBar):
    """Raises on bar `on_bar` (and only then)."""

    def misbehave(self) -> None:
        raise RuntimeError("strategy bug")


class FailingInit(Strategy):
    def initialize(self, context: Any) -> None:
        raise KeyError("missing setting")

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        return None


class Unpicklable(Idle):
    """Keeps a lambda on its context, so it cannot be snapshotted."""

    def initialize(self, context: Any) -> None:
        context.callback = lambda: None


class Bloating(_OnBar):
    """Fills `mb` MiB of memory on bar `on_bar` and keeps it (every page touched)."""

    def __init__(self, on_bar: int, mb: int = 256, symbol: str = "ORCL") -> None:
        super().__init__(on_bar, symbol)
        self.mb = mb
        self.ballast = b""

    def misbehave(self) -> None:
        self.ballast = b"\x01" * (self.mb << 20)


class Heavy(Idle):
    """Holds `mb` MiB of memory from its construction on (every page touched)."""

    def __init__(self, mb: int) -> None:
        self.ballast = b"\x01" * (mb << 20)


class Pausing(Strategy):
    """Buys one share of `symbol` on its first bar and takes `sleep_s` over every step (so a
    SIGKILL sent while its shard steps lands in the middle of the step)."""

    def __init__(self, sleep_s: float = 0.005, symbol: str = "ORCL") -> None:
        self.sleep_s = sleep_s
        self.symbol = symbol
        self.bought = False

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        if not self.bought and self.symbol in data:
            ledger.order(self.symbol, 1)
            self.bought = True
        time.sleep(self.sleep_s)


class KillsItself(_OnBar):
    """Sends its own process SIGKILL on bar `on_bar`, every time that bar is stepped."""

    def misbehave(self) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


class _Unprintable(Exception):
    """An exception whose `__str__` raises."""

    def __str__(self) -> str:
        raise RuntimeError("no text for you")


class _UnprintableExit(SystemExit):
    """A `BaseException` (a fault, not an error) whose `__str__` raises."""

    def __str__(self) -> str:
        raise ValueError("no text either")


class RaisesBadly(_OnBar):
    """On bar `on_bar` it raises an exception that is hard to put into words: `how` is
    "unprintable" (its `__str__` raises), "huge" (a 10 MiB message) or "unprintable_exit" (a
    `SystemExit` whose `__str__` raises)."""

    def __init__(self, how: str, on_bar: int = 2) -> None:
        super().__init__(on_bar)
        self.how = how

    def misbehave(self) -> None:
        if self.how == "unprintable":
            raise _Unprintable()
        if self.how == "unprintable_exit":
            raise _UnprintableExit()
        raise ValueError("x" * (10 << 20))
