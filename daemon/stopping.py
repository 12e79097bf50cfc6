"""Waiting on a feed that a stop request can interrupt.

A live feed (Redis) may wait for its next bar indefinitely; SIGTERM must not wait with it.
`StopGuard.wait_for` awaits the feed and, if the stop event is set meanwhile, cancels that
wait (and only that wait: work between waits, such as stepping a slice, is never cut) and
raises `Stopped`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")


class Stopped(Exception):
    """The stop event was set while waiting."""


class StopGuard:
    def __init__(self, stop: asyncio.Event) -> None:
        self._stop = stop
        self._task: asyncio.Task[object] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._waiting = False
        self._interrupted = False

    async def __aenter__(self) -> StopGuard:
        self._task = asyncio.current_task()
        self._watcher = asyncio.create_task(self._watch())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._watcher is not None:
            self._watcher.cancel()

    async def _watch(self) -> None:
        await self._stop.wait()
        if self._waiting and self._task is not None:
            self._interrupted = True
            self._task.cancel()

    async def wait_for(self, awaitable: Awaitable[T]) -> T:
        """`await awaitable`, unless the stop event is or becomes set first (`Stopped`)."""
        if self._stop.is_set():
            if isinstance(awaitable, Coroutine):
                awaitable.close()  # never started: nothing to wait for
            raise Stopped
        self._waiting = True
        try:
            return await awaitable
        except asyncio.CancelledError:
            if not self._interrupted or self._task is None:
                raise
            self._interrupted = False
            self._task.uncancel()
            raise Stopped from None
        finally:
            self._waiting = False
