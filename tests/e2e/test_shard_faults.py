"""The real daemon with strategies in shards: a strategy that hangs is quarantined, one that
ends its shard's process is counted and quarantined after its consecutive failures, the
fund keeps running; each fault is journaled, and recovery from the journal alone reproduces
the fund without waiting again."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from tests.e2e.test_worker_faults import FAULTY
from tests.support.daemon_process import STRATEGIES, env_for, run


def sharded_env(state: Path) -> dict[str, str]:
    env = env_for(
        state,
        PAPERFUND_DEADLINES__STEP_TIMEOUT_S="1.5",
        PAPERFUND_STATE__KEEP_SNAPSHOTS="20",
        PAPERFUND_WORKERS__SHARDS="2",
    )
    strategies = [{**s, "worker": "shard"} for s in STRATEGIES + FAULTY]
    env["PAPERFUND_STRATEGIES"] = json.dumps(strategies)
    return env


def test_faults_in_shards_are_quarantined_journaled_and_replayed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = run(sharded_env(state))
    assert first.returncode == 0, first.stderr
    rows = {
        line.split()[0]: line
        for line in first.stdout.splitlines()
        if line.endswith(("running", "paused"))
    }
    assert rows["sleepy"].endswith("paused") and rows["crashy"].endswith("paused")
    assert all(rows[s["id"]].endswith("running") for s in STRATEGIES)
    with sqlite3.connect(state / "state.sqlite3") as db:
        faults = [
            json.loads(p) for (p,) in db.execute("SELECT payload FROM journal WHERE kind='fault'")
        ]
        db.execute("DELETE FROM snapshots")
    reasons = [(f["strategy_id"], f["reason"].split(":")[0]) for f in faults]
    assert sorted(reasons) == [
        ("crashy", "WorkerCrashed"),
        ("crashy", "WorkerCrashed"),
        ("crashy", "WorkerCrashed"),
        ("sleepy", "WorkerTimeout"),
    ]
    started = time.monotonic()
    replayed = run(sharded_env(state))
    assert replayed.returncode == 0, replayed.stderr
    assert time.monotonic() - started < 30
    assert "ready at slice 504" in replayed.stderr
    assert replayed.stdout == first.stdout
