"""The `paperfund` command, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.records import RebalanceTrigger
from daemon.demo import run_demo
from daemon.exits import EXIT_BROKEN_PIPE
from tests.support.daemon_process import ROOT, cli


def test_demo_runs_and_is_deterministic() -> None:
    first = cli("demo", "--bars", "120", "--seed", "3")
    second = cli("demo", "--bars", "120", "--seed", "3")
    assert first.returncode == 0, first.stderr
    assert "fund demo: value" in first.stdout
    for sid in ("trend", "momentum", "mean_reversion"):
        assert sid in first.stdout
    assert first.stdout == second.stdout


def test_unknown_command_fails_with_usage() -> None:
    result = cli("fly")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_the_demo_records_its_scheduled_triggers() -> None:
    fund = run_demo(bars=80, out=lambda _: None)
    triggers = [r.trigger for r in fund.rebalance_history]
    assert triggers[0] is RebalanceTrigger.INITIAL
    assert set(triggers[1:]) == {RebalanceTrigger.CALENDAR}


@pytest.mark.parametrize("bars", ["-3", "0", "1.5", "many"])
def test_demo_refuses_a_bar_count_below_one_or_not_whole(bars: str) -> None:
    result = cli("demo", "--bars", bars, "--seed", "3")
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"argument --bars: expected a whole number >= 1, not '{bars}'" in result.stderr


def test_a_reader_closing_the_pipe_early_ends_the_demo_quietly() -> None:
    """`paperfund demo | head -3`, with the reader gone before the first line is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "daemon.cli", "demo", "--bars", "60"],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored"
    assert result.returncode == EXIT_BROKEN_PIPE
