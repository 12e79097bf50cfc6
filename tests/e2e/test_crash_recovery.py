"""Kill -9 the real daemon at random points, restart it, and get exactly the fund an
uninterrupted run gives: every ledger, every metric."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.test_daemon_run import ROOT, env_for, run

KILLS = 20
EXTRA = {"PAPERFUND_FEED__BARS": "1500", "PAPERFUND_STATE__SNAPSHOT_EVERY": "9"}


def start(env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # recovery reports may come before the ready line
        seen.append(line)
        if "ready at slice" in line:
            return proc
    raise AssertionError("daemon exited before it was ready:\n" + "".join(seen))


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
