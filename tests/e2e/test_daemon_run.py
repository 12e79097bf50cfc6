"""The real daemon as a subprocess: same fund as the core, in-process or in child processes,
and across a graceful stop and restart."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from daemon.demo import run_demo
from tests.support.daemon_process import env_for, run, start, wait_for_slices


@pytest.fixture(scope="module")
def core_summary() -> list[str]:
    lines: list[str] = []
    run_demo(out=lines.append)
    return lines


def summary_of(stdout: str) -> list[str]:
    return stdout.splitlines()[:7]


def test_daemon_matches_the_core_allocator(tmp_path: Path, core_summary: list[str]) -> None:
    result = run(env_for(tmp_path / "state"))
    assert result.returncode == 0, result.stderr
    assert summary_of(result.stdout) == core_summary[:7]
    assert "ready at slice 0 (replayed 0 journal records)" in result.stderr


def test_process_workers_give_the_same_fund(tmp_path: Path) -> None:
    inprocess = run(env_for(tmp_path / "a"))
    process = run(env_for(tmp_path / "b", "process"))
    assert process.returncode == 0, process.stderr
    assert "state digest: " in process.stdout
    assert process.stdout == inprocess.stdout


def test_restart_after_completion_recovers_the_same_fund(tmp_path: Path) -> None:
    first = run(env_for(tmp_path / "state"))
    second = run(env_for(tmp_path / "state"))
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "ready at slice 504" in second.stderr


def test_sigterm_finishes_the_slice_snapshots_and_resumes_exactly(tmp_path: Path) -> None:
    uninterrupted = run(env_for(tmp_path / "a"))
    env = env_for(tmp_path / "b", PAPERFUND_FEED__SPEED=str(86400 * 50))
    proc = start(env)
    wait_for_slices(tmp_path / "b", 5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    resumed = run(env_for(tmp_path / "b"))
    assert resumed.returncode == 0, resumed.stderr
    at = int(resumed.stderr.split("ready at slice ")[1].split()[0])
    assert 0 < at < 504
    assert resumed.stdout == uninterrupted.stdout


def test_a_second_daemon_on_the_same_fund_exits_with_a_clear_message(tmp_path: Path) -> None:
    env = env_for(tmp_path / "state", PAPERFUND_FEED__SPEED=str(86400 / 10))
    first = start(env)
    try:
        second = run(env)
        assert second.returncode == 3
        assert "another paperfund daemon is running this fund" in second.stderr
        assert str(tmp_path / "state") in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 0
