"""The real daemon under the systemd notify protocol (a real datagram socket standing in for
systemd): READY=1 once ready, WATCHDOG=1 while the loop runs, STOPPING=1 once on SIGTERM; and a
shutdown that outlasts its grace exits at once."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

from tests.support.daemon_process import STRATEGIES, Daemon, env_for, wait_for_slices

WAIT_S = 30.0


def messages(sock: socket.socket, until: bytes) -> list[bytes]:
    """Datagrams received until one starts with `until` (bounded by the socket timeout)."""
    got = []
    while not got or not got[-1].startswith(until):
        got.append(sock.recv(4096))
    return got


def rest(sock: socket.socket) -> list[bytes]:
    """The datagrams still queued (once the daemon has exited, every one it sent)."""
    sock.setblocking(False)
    got = []
    while True:
        try:
            got.append(sock.recv(4096))
        except BlockingIOError:
            return got


def test_ready_watchdog_and_stopping(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(WAIT_S)
        env = env_for(
            tmp_path / "state",
            PAPERFUND_FEED__BARS="null",
            PAPERFUND_FEED__SPEED=str(86400 / 0.05),
            NOTIFY_SOCKET=path,
            WATCHDOG_USEC="200000",
        )
        daemon = Daemon(env).wait_ready()
        try:
            before_ready = messages(sock, b"READY=1")
            assert all(m == b"WATCHDOG=1" for m in before_ready[:-1])
            assert before_ready[-1].startswith(b"READY=1\nSTATUS=fund demo ready at slice ")
            after = [sock.recv(4096) for _ in range(3)]
            assert after == [b"WATCHDOG=1"] * 3  # every 0.1 s: half of WATCHDOG_USEC
            daemon.proc.send_signal(signal.SIGTERM)
            assert messages(sock, b"STOPPING=1")[-1] == b"STOPPING=1\nSTATUS=stopping"
            assert daemon.proc.wait(WAIT_S) == 0
            assert b"STOPPING=1" not in b"".join(rest(sock))  # told once, not again at the end
        finally:
            daemon.stop(signal.SIGKILL)


def test_a_shutdown_beyond_its_grace_exits_at_once(tmp_path: Path) -> None:
    sleepy = {
        "id": "sleepy",
        "class": "tests.workers.sample_strategies:Sleeping",
        "params": {"on_bar": 5, "sleep_s": 120, "symbol": "AAA"},
        "allocation": "0.05",
        "worker": "process",
    }
    env = env_for(
        tmp_path / "state",
        PAPERFUND_DEADLINES__STEP_TIMEOUT_S="300",
        PAPERFUND_DEADLINES__SHUTDOWN_GRACE_S="1",
        PAPERFUND_ALLOCATION__REBALANCER__FREQUENCY="custom",
    )
    env["PAPERFUND_STRATEGIES"] = json.dumps([*STRATEGIES[:2], sleepy])
    daemon = Daemon(env).wait_ready()
    wait_for_slices(tmp_path / "state", 5)  # the fifth slice is journaled: its step sleeps
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(WAIT_S) == 124
    assert time.monotonic() - started < 10
    daemon.stop()  # its output ends only when its worker processes are gone too
    assert time.monotonic() - started < 15  # the sleeping worker did not outlive it
    event = daemon.event("shutdown took longer than its grace; exiting now")
    assert event["grace_s"] == 1
