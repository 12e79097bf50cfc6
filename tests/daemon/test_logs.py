"""One log pipeline: structlog and stdlib loggers, JSON lines off a terminal, context bound."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from daemon import logs


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


def test_json_lines_carry_bound_context_and_stdlib_events() -> None:
    stream = io.StringIO()
    logs.configure("auto", "info", stream)  # a StringIO is not a terminal: JSON
    log = logs.get("paperfund.test")
    with logs.bound(command_id="c-1", strategy_id="trend"):
        log.info("command applied", status="applied")
    logging.getLogger("aiohttp.access").warning("from the standard library %s", "too")
    log.debug("not shown at info")
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == [
        "command applied",
        "from the standard library too",
    ]
    first, second = events
    assert (first["command_id"], first["strategy_id"], first["status"]) == (
        "c-1",
        "trend",
        "applied",
    )
    assert first["level"] == "info" and first["logger"] == "paperfund.test"
    assert "timestamp" in first
    assert (second["level"], second["logger"]) == ("warning", "aiohttp.access")
    assert "command_id" not in second  # outside the bound block


def test_console_format_is_readable_text() -> None:
    stream = io.StringIO()
    logs.configure("console", "info", stream)
    logs.get("paperfund.test").warning("redis disconnected", url="redis://***@db")
    line = stream.getvalue().strip()
    assert "redis disconnected" in line and "url=redis://***@db" in line
    assert not line.startswith("{")
