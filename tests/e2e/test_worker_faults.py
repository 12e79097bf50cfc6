"""A strategy whose child process hangs is quarantined, one that dies is rebuilt and counted;
the fund keeps running, and
recovery from the journal alone reproduces the quarantine without waiting again. Children of
a daemon killed outright exit quietly."""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import time
from pathlib import Path

from tests.support.daemon_process import STRATEGIES, Daemon, env_for, run, wait_for_slices

FAULTY = [
    {
        "id": "sleepy",
        "class": "tests.workers.sample_strategies:Sleeping",
        "params": {"on_bar": 40, "sleep_s": 60, "symbol": "AAA"},
        "allocation": "0.04",
        "worker": "process",
    },
    {
        "id": "crashy",
        "class": "tests.workers.sample_strategies:Exiting",
        "params": {"on_bar": 70, "symbol": "BBB"},
        "allocation": "0.04",
        "worker": "process",
    },
]


def faulty_env(state: Path) -> dict[str, str]:
    # every snapshot kept, so nothing is compacted: the test replays the whole journal
    env = env_for(
        state, PAPERFUND_DEADLINES__STEP_TIMEOUT_S="1.5", PAPERFUND_STATE__KEEP_SNAPSHOTS="20"
    )
    env["PAPERFUND_STRATEGIES"] = json.dumps(STRATEGIES + FAULTY)
    return env


def test_hung_and_dead_children_are_quarantined_and_replayed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = run(faulty_env(state))
    assert first.returncode == 0, first.stderr
    rows = {
        line.split()[0]: line
        for line in first.stdout.splitlines()
        if line.endswith(("running", "paused"))
    }
    assert rows["sleepy"].endswith("paused")  # a timeout quarantines at once
    # a dead child is rebuilt; this one dies again on each later bar (its bar count does not
    # advance on the bar it died on), so it is quarantined after three consecutive failures
    assert rows["crashy"].endswith("paused")
    assert rows["trend"].endswith("running")
    with sqlite3.connect(state / "state.sqlite3") as db:
        kinds = [k for (k,) in db.execute("SELECT kind FROM journal WHERE kind = 'fault'")]
        assert len(kinds) == 4  # one timeout, three crashes
        db.execute("DELETE FROM snapshots")
    started = time.monotonic()
    replayed = run(faulty_env(state))
    assert replayed.returncode == 0, replayed.stderr
    assert time.monotonic() - started < 30  # the 60 s sleep was not waited for again
    assert "ready at slice 504" in replayed.stderr
    assert replayed.stdout == first.stdout


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def exited(pidfd: int, timeout_s: float = 30.0) -> bool:
    """Whether the process of `pidfd` exits within `timeout_s` (a pidfd turns readable when
    its process exits, whoever its parent is)."""
    readable, _, _ = select.select([pidfd], [], [], timeout_s)
    return bool(readable)


def test_the_children_of_a_killed_daemon_exit_without_a_traceback(tmp_path: Path) -> None:
    """SIGKILL while one child is in the middle of a step (its answer meets a broken pipe)
    and the others wait for the next (their read meets EOF or a reset): every child exits,
    and the log stream they share with the daemon stays JSON."""
    sleepy = {**FAULTY[0], "params": {"on_bar": 5, "sleep_s": 3, "symbol": "AAA"}}
    env = env_for(
        tmp_path / "state",
        "process",
        PAPERFUND_FEED__BARS="null",
        PAPERFUND_DEADLINES__STEP_TIMEOUT_S="300",
    )
    env["PAPERFUND_STRATEGIES"] = json.dumps([*json.loads(env["PAPERFUND_STRATEGIES"]), sleepy])
    daemon = Daemon(env).wait_ready()
    try:
        wait_for_slices(tmp_path / "state", 5)  # the fifth slice is journaled: its step sleeps
        children = children_of(daemon.proc.pid)
        workers = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) == 4  # and multiprocessing's resource tracker
        pidfds = {pid: os.pidfd_open(pid) for pid in children}
    finally:
        assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    try:
        assert not [pid for pid, pidfd in pidfds.items() if not exited(pidfd)]
    finally:
        for pidfd in pidfds.values():
            os.close(pidfd)
    assert daemon.output_ended  # every child closed its end of the log stream
    lines = "".join(daemon.lines)
    assert "Traceback" not in lines
    assert all(isinstance(json.loads(line), dict) for line in daemon.lines), lines
