"""On a terminal the progress line and the log records do not run into each other: each
record erases the line first and draws it again after itself."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

from core.market import Slice
from daemon import logs
from daemon.progress import Progress
from tests.support.daemon_process import env_for
from tests.support.terminal import ERASE_LINE, run_on_terminal, screen_lines

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z \[")


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_record_erases_the_progress_line_and_draws_it_again() -> None:
    stream = TerminalStream()
    logs.configure("console", "info", stream)
    progress = Progress(stream, 10, interval_s=0.0)
    with logs.status_line(progress):
        progress.update(Slice(datetime(2024, 1, 2, tzinfo=UTC), {}))
        logs.get("paperfund.test").info("rebalance")
        progress.finish()
    logs.get("paperfund.test").info("after")  # no longer registered: nothing to erase
    drawn = "[###---------------------------]  10% 1/10  2024-01-02 00:00"
    written = stream.getvalue()
    assert written.startswith(f"\r{drawn}\r{ERASE_LINE}")  # erased before the record
    assert f"[paperfund.test]\n\r{drawn}\n" in written  # drawn again after it
    assert written.count(ERASE_LINE) == 1
    record, bar, after = screen_lines(written)[:3]
    assert LOG_LINE.match(record) and "rebalance" in record
    assert bar == drawn
    assert LOG_LINE.match(after) and "after" in after


def test_run_on_a_terminal_keeps_progress_and_log_lines_apart(tmp_path: Path) -> None:
    # 70 daily bars from 2024-01-02: rebalances are logged at the first bar, on 1 February
    # and on 1 March, while the progress line is drawn.
    env = env_for(tmp_path / "state", PAPERFUND_FEED__BARS="70")
    result = run_on_terminal(["run"], env)
    assert result.returncode == 0, result.text
    shown = [line for line in screen_lines(result.text) if line]
    start = shown.index("paperfund: fund demo is running.")  # the greeting, once
    lines = shown[:start] + shown[start + 4 :]
    assert shown[start + 3].startswith("  Ctrl-C stops it")
    records = [line for line in lines if "rebalance " in line]
    assert len(records) == 3, lines
    for line in lines:
        assert LOG_LINE.match(line) or line.startswith("["), line  # a record or the bar
        assert not (LOG_LINE.match(line) and "%" in line.split(" [", 1)[0]), line
    assert "[" + "#" * 30 + "] 100% 70/70  2024-03-11 00:00" in lines
    assert "00:002" not in result.text  # the glued form: a bar's time, then a record's
