"""The `paperfund` command, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_runs_and_is_deterministic() -> None:
    first = run_cli("demo", "--bars", "120", "--seed", "3")
    second = run_cli("demo", "--bars", "120", "--seed", "3")
    assert first.returncode == 0, first.stderr
    assert "fund demo: value" in first.stdout
    for sid in ("trend", "momentum", "mean_reversion"):
        assert sid in first.stdout
    assert first.stdout == second.stdout


def test_unknown_command_fails_with_usage() -> None:
    result = run_cli("fly")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
