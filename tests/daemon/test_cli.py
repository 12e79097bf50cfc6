"""The `paperfund` command, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.records import RebalanceTrigger
from daemon.demo import run_demo
from daemon.exits import EXIT_BROKEN_PIPE
from tests.support.daemon_process import ROOT, cli, env_for


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


def closed_stdout(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`paperfund ARGS` writing to a pipe whose reader is gone before the first line is
    written (`paperfund ... | head -3`, with `head` quicker than it)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE
    try:
        return subprocess.run(
            [sys.executable, "-m", "daemon.cli", *args],
            cwd=ROOT,
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        os.close(write_end)


def test_a_reader_closing_the_pipe_early_ends_the_demo_quietly() -> None:
    result = closed_stdout("demo", "--bars", "60")
    assert result.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored"
    assert result.returncode == EXIT_BROKEN_PIPE


def test_a_reader_closing_the_pipe_early_is_not_a_failure_of_the_fund(tmp_path: Path) -> None:
    env = env_for(tmp_path / "state", PAPERFUND_FEED__BARS="30", PAPERFUND_LOGGING__FORMAT="json")
    result = closed_stdout("run", env=env)
    assert result.returncode == EXIT_BROKEN_PIPE, result.stderr
    assert "Traceback" not in result.stderr
    assert '"level": "error"' not in result.stderr  # no "cannot run the fund"


def test_a_shard_memory_limit_below_an_empty_shard_stops_the_run_as_a_config_error(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    env = env_for(state, "shard", PAPERFUND_WORKERS__MEMORY_LIMIT_MB="1", PAPERFUND_FEED__BARS="5")
    done = cli("run", env=env)
    assert done.returncode == 2, done.stderr
    assert "the shards' memory limit is too low" in done.stderr
    assert "before any strategy is in it, past its memory limit of 1 MiB" in done.stderr
    assert "Traceback" not in done.stderr
    env["PAPERFUND_WORKERS__MEMORY_LIMIT_MB"] = "4000"  # fixed: nothing of the refused start
    fixed = cli("run", env=env)
    fresh = cli("run", env={**env, "PAPERFUND_STATE__DIR": str(tmp_path / "fresh")})
    assert (fixed.returncode, fresh.returncode) == (0, 0), fixed.stderr + fresh.stderr
    assert "state digest: " in fixed.stdout
    assert _digest_line(fixed.stdout) == _digest_line(fresh.stdout)


def _digest_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("state digest: "))
