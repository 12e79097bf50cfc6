"""Kill -9 the real daemon at random points, restart it, and get exactly the fund an
uninterrupted run gives: every ledger, every metric."""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from tests.support.daemon_process import env_for, run, start

KILLS = 20
EXTRA = {"PAPERFUND_FEED__BARS": "1500", "PAPERFUND_STATE__SNAPSHOT_EVERY": "9"}
KILLED_BARS = "6000"
"""Bars of the twenty-kill run: it must outlast twenty kills. A start lives at most 0.25 s,
less the interpreter's own start, and the daemon steps this fund at about 1.5 ms a bar on a
2-core machine (1,500 bars were once finished in 17 starts), so 20 starts cover at most
about 3,400 bars: 6,000 leave a margin for a faster machine or daemon."""


def test_twenty_kills_lose_nothing(tmp_path: Path) -> None:
    extra = {**EXTRA, "PAPERFUND_FEED__BARS": KILLED_BARS}
    expected = run(env_for(tmp_path / "clean", **extra))
    assert expected.returncode == 0, expected.stderr
    env = env_for(tmp_path / "killed", **extra)
    rng = random.Random(20261124)
    kills = 0
    while kills < KILLS:
        proc = start(env)
        # fault injection, not synchronisation: kill after a random part of a second
        time.sleep(rng.uniform(0.02, 0.25))
        if proc.poll() is not None:
            proc.communicate()
            break
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        kills += 1
    assert kills == KILLS, f"the run ended after {kills} kills: give it more bars"
    final = run(env)
    assert final.returncode == 0, final.stderr
    assert "replayed" in final.stderr
    assert final.stdout == expected.stdout


def test_kills_with_one_snapshot_kept_recover_exactly_from_a_compacted_journal(
    tmp_path: Path,
) -> None:
    """The most aggressive compaction (each snapshot drops the journal it covers): the killed
    fund still ends exactly as the uninterrupted one, and its journal never held more than
    the slices since the last snapshot (plus their commands and faults)."""
    every = 9
    extra = {**EXTRA, "PAPERFUND_STATE__KEEP_SNAPSHOTS": "1"}
    expected = run(env_for(tmp_path / "clean", **extra))
    assert expected.returncode == 0, expected.stderr
    state = tmp_path / "killed"
    env = env_for(state, **extra)
    rng = random.Random(20261206)
    longest = 0
    for _ in range(6):
        proc = start(env)
        time.sleep(rng.uniform(0.05, 0.4))  # fault injection, not synchronisation
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        longest = max(longest, journal_rows(state))
    final = run(env)
    assert final.returncode == 0, final.stderr
    assert final.stdout == expected.stdout
    assert 0 < longest <= every + 2
    assert journal_rows(state) == 0  # a clean stop snapshots: nothing left to replay
    with closing(sqlite3.connect(f"file:{state / 'state.sqlite3'}?mode=ro", uri=True)) as conn:
        (compacted,) = conn.execute(
            "SELECT value FROM meta WHERE key = 'compacted_through'"
        ).fetchone()
    assert compacted > 1000


def journal_rows(state: Path) -> int:
    """Journal records in a stopped daemon's state database (0 before it exists)."""
    path = state / "state.sqlite3"
    if not path.exists():
        return 0
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        (rows,) = conn.execute("SELECT COUNT(*) FROM journal").fetchone()
    return int(rows)
