"""A one-line progress display for long replays, drawn on a terminal only.

On a TTY the line is redrawn in place (`\\r`) at most every `interval_s` seconds: a bar when
the feed knows how many slices it has, else a count of slices and the latest timestamp.
Anywhere else (a pipe, a log file) nothing is written at all. While it is drawn, log
records erase it and draw it again after themselves (`logs.status_line`), so a record never
continues the progress line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from core.market import Slice
from daemon import logs
from daemon.feeds import Feed, SyntheticFeed

DEFAULT_INTERVAL_S = 0.1
BAR_WIDTH = 30
ERASE_LINE = "\r\x1b[2K"
"""Carriage return, then ANSI "erase the whole line"."""


def feed_length(feed: Feed) -> int | None:
    """How many slices `feed` will yield, when it can tell (a finite synthetic feed)."""
    if isinstance(feed, SyntheticFeed):
        return feed.bars
    return None


class Progress:
    """Call `update` with each slice and `finish` once at the end."""

    def __init__(
        self,
        stream: TextIO,
        total: int | None = None,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = stream.isatty()
        self.count = 0
        self._stream = stream
        self._total = total if total is not None and total > 0 else None
        self._interval_s = interval_s
        self._clock = clock
        self._drawn_at: float | None = None
        self._width = 0
        self._text = ""
        self._showing = False

    def update(self, market: Slice) -> None:
        self.count += 1
        if not self.enabled:
            return
        now = self._clock()
        due = self._drawn_at is None or now - self._drawn_at >= self._interval_s
        if not due and self.count != self._total:
            return
        self._drawn_at = now
        self._draw(self.line(market))

    def finish(self) -> None:
        """End the line, so what follows starts on a fresh one."""
        with logs.TERMINAL_LOCK:
            if self.enabled and self._drawn_at is not None:
                self._stream.write("\n")
                self._stream.flush()
            self._showing = False

    def clear(self) -> None:
        """Erase the drawn line (other output is about to be written)."""
        if self._showing:
            self._stream.write(ERASE_LINE)
            self._stream.flush()

    def redraw(self) -> None:
        """Draw the line again after other output."""
        if self._showing:
            self._stream.write(f"\r{self._text}")
            self._stream.flush()

    def line(self, market: Slice) -> str:
        ts = market.ts.strftime("%Y-%m-%d %H:%M")
        if self._total is None:
            return f"slice {self.count}  {ts}"
        done = min(self.count / self._total, 1.0)
        filled = round(done * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"[{bar}] {done:4.0%} {self.count}/{self._total}  {ts}"

    def _draw(self, text: str) -> None:
        # Pad over the previous line: a shorter line must not leave its tail behind.
        padding = " " * max(self._width - len(text), 0)
        self._width = len(text)
        with logs.TERMINAL_LOCK:
            self._text, self._showing = text, True
            self._stream.write(f"\r{text}{padding}")
            self._stream.flush()
