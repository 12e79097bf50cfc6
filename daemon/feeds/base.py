"""The feed interface: an async iterator of `core.market.Slice`s, plus its counters and pacing.

Contract of every `Feed`:

- It yields `Slice`s with strictly increasing timestamps; a slice is never empty and never
  re-opened. Bars were validated at the edge (`daemon.feeds.validation`): a rejected bar is
  counted in `stats.rejected` and never reaches a strategy.
- `async for market in feed` (or `await anext(feed)`) drives it; a `Feed` is an
  `AsyncIterator[Slice]`, so it plugs into anything that consumes one, such as the
  supervisor's `run(feed, stop)`. Iterating it again continues where it stopped.
- `aclose()` (or leaving `async with feed:`) releases what it holds (open files) even when
  iteration stopped early.
- `stats` is a live `FeedStats`: read it at any time, e.g. from a metrics collector at scrape
  time. Nothing is logged per bar; rejections go to the validator's `on_reject` hook.
- Pacing is optional. `speed=0` (or None) replays as fast as the consumer takes slices,
  `speed=1` in real time, `speed=60` one minute of data per second. The sleep and the clock
  are injected so tests run without sleeping. At `speed=0` the feed still yields to the event
  loop once per slice, so health checks and signal handling stay responsive during a fast
  replay.
"""

from __future__ import annotations

import asyncio
import math
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from core.market import Slice
from daemon.feeds.errors import FeedConfigError
from daemon.feeds.validation import (
    BarLimits,
    BarValidator,
    DuplicatePolicy,
    RejectHook,
    new_reject_counters,
)

Sleep = Callable[[float], Awaitable[None]]
"""`asyncio.sleep`-like: wait this many seconds."""

Clock = Callable[[], float]
"""`time.monotonic`-like: seconds from an arbitrary origin, never going back."""


@dataclass
class FeedStats:
    """Live counters of one feed. `rejected` is the validator's own dict (by reason), so it is
    current at every read; `wait_s` is the total pacing wait, in seconds of the injected clock.
    A feed that fetches (ccxt) also counts its requests (`fetches`), its failed requests by
    kind (`errors`) and each symbol's last bar time (`last_bar_ts`)."""

    slices: int = 0
    bars: int = 0
    rejected: dict[str, int] = field(default_factory=new_reject_counters)
    last_ts: datetime | None = None
    wait_s: float = 0.0
    fetches: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    last_bar_ts: dict[str, datetime] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def record(self, market: Slice) -> None:
        self.slices += 1
        self.bars += len(market)
        self.last_ts = market.ts


class Pacer:
    """Releases slice `t` at `clock0 + (t - t0) / speed`, where `t0` is the first slice's
    timestamp and `clock0` the clock when it was released (at once).

    Scheduling from one anchor keeps rounding and consumer time from accumulating into drift.
    A consumer slower than the pace gets late slices at once; nothing is dropped.
    """

    def __init__(
        self,
        speed: float | None = 0.0,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        speed = 0.0 if speed is None else speed
        if not math.isfinite(speed) or speed < 0:
            raise FeedConfigError(f"speed must be a finite number >= 0, got {speed!r}")
        self.speed = float(speed)
        self._sleep = sleep
        self._clock = clock
        self._anchor: tuple[datetime, float] | None = None
        self.skip_through: datetime | None = None
        """Slices up to this time are released at once (already processed before a
        restart); pacing anchors on the first slice after it."""

    async def wait(self, ts: datetime) -> float:
        """Wait until the slice at `ts` is due; return the seconds waited for (0 if none)."""
        if self.speed == 0 or (self.skip_through is not None and ts <= self.skip_through):
            await self._sleep(0)
            return 0.0
        now = self._clock()
        if self._anchor is None:
            self._anchor = (ts, now)
            await self._sleep(0)
            return 0.0
        ts0, clock0 = self._anchor
        delay = clock0 + (ts - ts0).total_seconds() / self.speed - now
        if delay <= 0:
            await self._sleep(0)
            return 0.0
        await self._sleep(delay)
        return delay


async def paced(source: Iterator[Slice], pacer: Pacer, stats: FeedStats) -> AsyncIterator[Slice]:
    """Yield the slices of a synchronous source, paced and counted; closes the source when
    done or closed early."""
    try:
        for market in source:
            stats.wait_s += await pacer.wait(market.ts)
            stats.record(market)
            yield market
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def check_backoff(backoff_s: float, max_backoff_s: float) -> None:
    """The retry waits of a live feed: they double from `backoff_s` up to `max_backoff_s`."""
    if not 0 < backoff_s <= max_backoff_s:
        raise FeedConfigError(
            f"need 0 < backoff_s <= max_backoff_s, got {backoff_s!r} and {max_backoff_s!r}"
        )


def backoff_delay_s(failures: int, backoff_s: float, max_backoff_s: float) -> float:
    """The wait after `failures` failures in a row (>= 1)."""
    return float(min(max_backoff_s, backoff_s * 2 ** min(failures - 1, 32)))


class Feed(ABC):
    """A source of slices; see the module doc for the contract.

    Subclasses implement `slices()` as an async generator and set `stats`.
    """

    stats: FeedStats

    def __init__(self) -> None:
        self.stats = FeedStats()
        self._iterator: AsyncIterator[Slice] | None = None

    def _use_validator(
        self,
        validator: BarValidator | None,
        symbols: Collection[str] | None,
        duplicate_policy: DuplicatePolicy,
        on_reject: RejectHook | None,
        limits: BarLimits | Mapping[str, Any] | None,
        max_ahead_s: float | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """Check this feed's bars with `validator`, or with one built from the other
        arguments when it is None; its rejection counters are the feed's `stats.rejected`."""
        if validator is None:
            validator = BarValidator(
                symbols,
                duplicate_policy,
                on_reject,
                limits=limits,
                max_ahead_s=max_ahead_s,
                wall_clock=wall_clock,
            )
        self.validator = validator
        self.stats.rejected = validator.rejected

    @abstractmethod
    def slices(self) -> AsyncIterator[Slice]:
        """A fresh async iterator over the feed's slices (usually an async generator)."""

    @property
    def waits(self) -> bool:
        """True when the next slice may take a while (a paced or live feed): the supervisor
        then applies commands that arrive while it waits, not only at the next slice."""
        pacer = getattr(self, "_pacer", None)
        return isinstance(pacer, Pacer) and pacer.speed > 0

    def fast_forward(self, through: datetime) -> None:
        """Release the slices up to `through` without pacing: the fund processed them
        before a restart, so only the slices after them keep the feed's pace."""
        pacer = getattr(self, "_pacer", None)
        if isinstance(pacer, Pacer):
            pacer.skip_through = through

    def __aiter__(self) -> AsyncIterator[Slice]:
        return self

    async def __anext__(self) -> Slice:
        if self._iterator is None:
            self._iterator = self.slices()
        return await anext(self._iterator)

    async def aclose(self) -> None:
        """Stop the feed and release its files; further iteration ends at once."""
        iterator, self._iterator = self._iterator, _exhausted()
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> Feed:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _exhausted() -> AsyncIterator[Slice]:
    return
    yield  # pragma: no cover - makes this an (empty) async generator
