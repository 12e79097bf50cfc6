"""Running the real `paperfund` command as a subprocess, for tests."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = [
    {
        "id": "trend",
        "class": "workers.strategies.moving_average:MovingAverageCrossover",
        "params": {"fast": 10, "slow": 40},
        "allocation": "0.30",
    },
    {
        "id": "momentum",
        "class": "workers.strategies.momentum:MomentumStrategy",
        "params": {"lookback": 20, "top": 2},
        "allocation": "0.30",
    },
    {
        "id": "mean_reversion",
        "class": "workers.strategies.mean_reversion:MeanReversionStrategy",
        "params": {"threshold": 30},
        "allocation": "0.30",
    },
]


def env_for(state: Path, mode: str = "inprocess", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFUND_")}
    strategies = [{**s, "worker": mode} for s in STRATEGIES]
    env.update(
        PAPERFUND_STATE__DIR=str(state),
        PAPERFUND_STRATEGIES=json.dumps(strategies),
        PAPERFUND_ALLOCATION__REBALANCER__COOLDOWN_DAYS="7",
        PAPERFUND_CONTROL__HTTP__PORT="0",  # a free port: tests may run daemons side by side
        **extra,
    )
    return env


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `paperfund ARGS` to completion in the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return cli("run", env=env)


def spawn(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`paperfund run ARGS` in the repository root, its output on pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "run", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """Start `paperfund run ARGS` and return once it reports ready (recovery reports may come
    first on stderr)."""
    proc = spawn(env, *args)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "ready at slice" in line:
            return proc
    proc.communicate()
    raise AssertionError("daemon exited before it was ready:\n" + "".join(seen))


def journaled_slices(state: Path) -> int:
    """Slice records in a state directory's journal (0 before the database exists)."""
    db = state / "state.sqlite3"
    if not db.exists():
        return 0
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        try:
            (count,) = conn.execute("SELECT COUNT(*) FROM journal WHERE kind = 'slice'").fetchone()
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0
    return int(count)


def wait_for_slices(state: Path, count: int, timeout_s: float = 60.0) -> None:
    """Poll the journal until it holds `count` slices (bounded)."""
    deadline = time.monotonic() + timeout_s
    while journaled_slices(state) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {count} slices journaled in {timeout_s} s")
        time.sleep(0.02)


class Daemon:
    """`paperfund run` in the background, its output drained by threads (so a chatty daemon
    never blocks on a full pipe); `lines` holds its stderr (log events) as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = spawn(env, *args)
        self.lines: list[str] = []
        self.out: list[str] = []
        self._ready = threading.Event()
        self._threads = [
            threading.Thread(target=self._drain_err, daemon=True),
            threading.Thread(target=self._drain_out, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _drain_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if "ready at slice" in line:
                self._ready.set()
        self._ready.set()  # exited: stop waiting

    def _drain_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.append(line)

    def wait_ready(self, timeout_s: float = 60.0) -> Daemon:
        if not self._ready.wait(timeout_s) or self.proc.poll() is not None:
            self.stop(signal.SIGKILL)
            raise AssertionError("daemon not ready:\n" + "".join(self.lines))
        return self

    def events(self) -> list[dict[str, Any]]:
        """Its log events (JSON lines; other lines are skipped)."""
        found = []
        for line in list(self.lines):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                found.append(event)
        return found

    def event(self, name: str) -> dict[str, Any]:
        for event in self.events():
            if event.get("event") == name:
                return event
        raise AssertionError(f"no {name!r} event in:\n" + "".join(self.lines))

    @property
    def output_ended(self) -> bool:
        """Its output pipes reached their end: every process holding them (its worker
        processes too) has closed them."""
        return not any(thread.is_alive() for thread in self._threads)

    def stop(self, signum: int = signal.SIGTERM, timeout_s: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        code = self.proc.wait(timeout_s)
        for thread in self._threads:
            thread.join(timeout_s)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return code
