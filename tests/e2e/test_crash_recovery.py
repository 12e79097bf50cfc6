"""Kill -9 the real daemon at random points, restart it, and get exactly the fund an
uninterrupted run gives: every ledger, every metric."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

from tests.support.daemon_process import env_for, run, start

KILLS = 20
EXTRA = {"PAPERFUND_FEED__BARS": "1500", "PAPERFUND_STATE__SNAPSHOT_EVERY": "9"}


def test_twenty_kills_lose_nothing(tmp_path: Path) -> None:
    expected = run(env_for(tmp_path / "clean", **EXTRA))
    assert expected.returncode == 0, expected.stderr
    env = env_for(tmp_path / "killed", **EXTRA)
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
    assert kills == KILLS
    final = run(env)
    assert final.returncode == 0, final.stderr
    assert "replayed" in final.stderr
    assert final.stdout == expected.stdout
