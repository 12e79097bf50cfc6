"""Start-up time of `paperfund ctl`, against a bare interpreter in the same run.

    .venv/bin/python -m tests.bench.ctl_startup [--repeats 10]

Each figure is the best wall-clock time of `--repeats` fresh processes: `python -c pass` (the
floor), `paperfund ctl --help` (parsing only), and `paperfund ctl status` against a port
nobody listens on (the settings loaded, a connection refused, exit code 3), which is the
start-up every real command pays before it reaches the daemon.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _paperfund() -> list[str]:
    script = Path(sys.executable).with_name("paperfund")
    found = str(script) if script.exists() else shutil.which("paperfund")
    return [found] if found else [sys.executable, "-m", "daemon.cli"]


def best_of(command: list[str], repeats: int, env: dict[str, str]) -> float:
    """Best wall-clock seconds of `repeats` runs of `command` (its exit code is not checked:
    `status` against a closed port exits 3 by design)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False, timeout=60)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFUND_")}
    env["PAPERFUND_CONTROL__HTTP__PORT"] = str(_closed_port())
    paperfund = _paperfund()
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("paperfund ctl --help", [*paperfund, "ctl", "--help"]),
        ("paperfund ctl status (refused)", [*paperfund, "ctl", "--timeout", "2", "status"]),
    ]
    baseline = None
    print(f"best of {args.repeats} runs each")
    print(f"{'command':<32} {'seconds':>8} {'over python':>12}")
    for label, command in rows:
        seconds = best_of(command, args.repeats, env)
        baseline = seconds if baseline is None else baseline
        print(f"{label:<32} {seconds:8.3f} {seconds - baseline:+12.3f}")


if __name__ == "__main__":
    main()
