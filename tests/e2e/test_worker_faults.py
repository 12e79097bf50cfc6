"""A strategy whose child process hangs is quarantined, one that dies is rebuilt and counted;
the fund keeps running, and
recovery from the journal alone reproduces the quarantine without waiting again."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from tests.support.daemon_process import STRATEGIES, env_for, run

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
