"""Structured logs: one pipeline (structlog) for paperfund and for the standard library's
loggers (aiohttp, redis, asyncio), JSON lines when stderr is not a terminal, readable text
when it is.

Context: `bound(strategy_id=..., command_id=..., slice_ts=...)` binds fields to every event
logged inside the block (context variables, so concurrent tasks do not mix them). What is
logged: start-up, recovery, every command, rebalance, quarantine and fault, connection
outages; nothing per bar at INFO.

A line redrawn in place on the terminal (the progress line) registers with `status_line`:
every log record is then written on a line of its own, with that line erased before and
drawn again after it.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO

import structlog
from structlog.typing import Processor

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LEVELS["error"] = logging.ERROR

TERMINAL_LOCK = threading.RLock()
"""Held while the terminal's status line or a log record is written, so neither cuts into
the other (records may come from other threads)."""


class StatusLine(Protocol):
    def clear(self) -> None:
        """Erase the line from the terminal, the cursor left at its start."""

    def redraw(self) -> None:
        """Draw the line again where the cursor is."""


_status_lines: list[StatusLine] = []


@contextmanager
def status_line(line: StatusLine) -> Iterator[None]:
    """Keep `line` clear of log records while the block runs."""
    with TERMINAL_LOCK:
        _status_lines.append(line)
    try:
        yield
    finally:
        with TERMINAL_LOCK:
            _status_lines.remove(line)


class _LineSafeHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes each record around the status line, not into it."""

    def emit(self, record: logging.LogRecord) -> None:
        with TERMINAL_LOCK:
            lines = list(_status_lines)
            for line in lines:
                line.clear()
            super().emit(record)
            for line in lines:
                line.redraw()


def configure(fmt: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to `stream` (default stderr) in one format."""
    out = sys.stderr if stream is None else stream
    as_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(sort_keys=True)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if as_json:
        final.append(structlog.processors.format_exc_info)
    handler = _LineSafeHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[*final, renderer])
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(LEVELS.get(level, logging.INFO))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get(name: str) -> Any:
    """A structlog logger named `name` (e.g. "paperfund.supervisor")."""
    return structlog.stdlib.get_logger(name)


@contextmanager
def bound(**context: Any) -> Iterator[None]:
    """Bind `context` to every event logged in this block (and tasks it starts)."""
    with structlog.contextvars.bound_contextvars(**context):
        yield
