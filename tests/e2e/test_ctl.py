"""`paperfund ctl` against a real daemon, over HTTP and over Redis: it waits for the reply,
prints the outcome, and exits 0 when applied, 1 when rejected, 2 on bad usage, 3 when nobody
answers."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.exits import EXIT_INTERRUPTED
from tests.e2e.control_daemon import control_daemon, http_of, started_redis
from tests.support.channels import HttpChannel
from tests.support.daemon_process import ROOT, Daemon
from tests.support.redis_server import free_port


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    yield from started_redis()


@pytest.fixture(scope="module")
def daemon(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    state = tmp_path_factory.mktemp("ctl") / "state"
    yield from control_daemon(state, redis_url)


@pytest.fixture(params=["http", "redis"])
def where(request: pytest.FixtureRequest, daemon: Daemon, redis_url: str) -> list[str]:
    if request.param == "http":
        return ["--http", http_of(daemon).base]
    return ["--redis", redis_url, "--fund", "demo"]


def ctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", "ctl", "--timeout", "20", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PAPERFUND_CONTROL__HTTP__PORT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_pause_and_resume(where: list[str], daemon: Daemon) -> None:
    http: HttpChannel = http_of(daemon)
    paused = ctl(*where, "pause", "trend", "--reason", "review")
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.splitlines()[-1].startswith("applied ctl-")
    assert http.get("/v1/strategies/trend")["pause_reason"] == "review"
    resumed = ctl(*where, "resume", "trend")
    assert resumed.returncode == 0
    assert http.get("/v1/strategies/trend")["state"] == "running"


def test_a_rejection_exits_1_with_the_reason(where: list[str]) -> None:
    result = ctl(*where, "rebalance", "--weights", "trend=0.7,momentum=0.6")
    assert result.returncode == 1
    assert "rejected" in result.stdout and "100%" in result.stdout


def test_status_prints_the_fund(where: list[str]) -> None:
    result = ctl(*where, "--json", "status")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout.splitlines()[-1])
    assert reply["status"] == "applied" and reply["data"]["fund"] == "demo"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["rebalance", "--weights", "trend"], "expected id=fraction"),
        (["rebalance", "--weights", "trend=abc"], "not a number"),
        (["add", "x", "--catalog", "slow_trend", "--allocation", "inf"], "not a finite number"),
    ],
)
def test_bad_usage_exits_2(where: list[str], args: list[str], words: str) -> None:
    result = ctl(*where, *args)
    assert result.returncode == 2 and words in result.stderr


def test_nobody_answering_exits_3(tmp_path: Path) -> None:
    result = ctl("--http", f"http://127.0.0.1:{free_port()}", "status")
    assert result.returncode == 3 and "no answer" in result.stderr
    result = ctl("--redis", f"redis://127.0.0.1:{free_port()}/0", "status")
    assert result.returncode == 3 and "no answer" in result.stderr


def test_watch_follows_the_fund(daemon: Daemon, redis_url: str) -> None:
    over_http = ctl("--http", http_of(daemon).base, "watch", "--count", "2", "--interval", "0.1")
    assert over_http.returncode == 0
    first, second = (json.loads(line) for line in over_http.stdout.splitlines())
    assert first["fund"] == second["fund"] == "demo"
    assert second["slice_index"] >= first["slice_index"]

    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daemon.cli",
            "ctl",
            "--redis",
            redis_url,
            "--fund",
            "demo",
            "watch",
            "--count",
            "1",
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # the watcher reads replies from when it connects: send until it has seen one
        for _ in range(100):
            ctl("--redis", redis_url, "--fund", "demo", "status")
            try:
                out, _ = watcher.communicate(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            raise AssertionError("the watcher printed nothing")
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate()
    assert watcher.returncode == 0
    assert out.startswith("accepted ctl-")  # the first reply of a status command


def first_line(watcher: subprocess.Popen[str], poke: list[str] | None) -> str:
    """The watcher's first line; `poke`: a ctl command to send until it prints one (a Redis
    watcher sees only the replies to commands sent after it connects)."""
    assert watcher.stdout is not None
    for _ in range(100):
        if poke is not None:
            ctl(*poke)
        readable, _, _ = select.select([watcher.stdout], [], [], 0.5 if poke else 30)
        if readable:
            return watcher.stdout.readline()
    raise AssertionError("the watcher printed nothing")


def test_ctrl_c_ends_watch_quietly(where: list[str]) -> None:
    watcher = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "ctl", *where, "watch", "--interval", "0.2"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        poke = [*where, "status"] if "--redis" in where else None
        assert first_line(watcher, poke).strip()
        watcher.send_signal(signal.SIGINT)  # what Ctrl-C at a terminal sends
        _, err = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate()
    assert err == ""
    assert watcher.returncode == EXIT_INTERRUPTED
