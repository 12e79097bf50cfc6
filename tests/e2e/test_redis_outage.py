"""Redis outages while a real daemon trades: the fund never stops, readiness and metrics
report the outage, and the commands that arrive meanwhile are applied exactly once after the
daemon reconnects. The daemon logs in as its own ACL user with a password; Redis keeps its
data on disk (AOF), so a killed server comes back with its streams."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from tests.e2e.control_daemon import control_env, http_of, redis_of
from tests.support.channels import HttpChannel, RedisChannel
from tests.support.daemon_process import Daemon
from tests.support.redis_server import RedisServer, redis_server_binary

PASSWORD = "daemon-s3cret"
WAIT_S = 30.0


def users(daemon_on: bool) -> list[str]:
    state = "on" if daemon_on else "off"
    return [
        *("--user", "paperfund", state, f">{PASSWORD}", "~*", "&*", "+@all"),
        *("--user", "default", "on", "nopass", "~*", "&*", "+@all"),
    ]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` (bounded): waiting for an observable state, not for time to pass."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def ready(http: HttpChannel) -> tuple[int, dict[str, object]]:
    status, body = http.request("GET", "/readyz")
    return status, body


def redis_gauge(http: HttpChannel) -> float:
    with urllib.request.urlopen(http.base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    (line,) = [ln for ln in text.splitlines() if ln.startswith("paperfund_redis_connected ")]
    return float(line.split()[1])


def journaled_commands(state: Path, command_id: str) -> int:
    with closing(sqlite3.connect(f"file:{state / 'state.sqlite3'}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT payload FROM journal WHERE kind = 'command'").fetchall()
    return sum(1 for (payload,) in rows if f'"command_id":"{command_id}"' in payload.decode())


def answers(operator: RedisChannel, command_id: str) -> list[tuple[str, str]]:
    """(status, duplicate) of every reply to `command_id` on the reply stream, in order."""
    replies: Any = operator.client.xrange("paperfund:demo:replies")
    return [(f["status"], f["duplicate"]) for _, f in replies if f["command_id"] == command_id]


def test_the_fund_trades_through_redis_outages_and_loses_no_command(tmp_path: Path) -> None:
    binary = redis_server_binary()
    assert binary is not None, "tests/run.sh installs redis-server"
    aof = ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path)]
    server = RedisServer(binary, args=[*aof, *users(daemon_on=True)])
    server.start()
    url = f"redis://paperfund:{PASSWORD}@127.0.0.1:{server.port}/0"
    state = tmp_path / "state"
    daemon = Daemon(control_env(state, url)).wait_ready()
    try:
        http = http_of(daemon)
        operator = redis_of(server.url)  # the default user, as an operator's tool
        first = operator.send({"type": "pause", "command_id": "before", "strategy_id": "trend"})
        assert first["status"] == "applied"
        wait_until(lambda: ready(http)[0] == 200, "ready")
        assert redis_gauge(http) == 1

        server.stop()  # killed: the daemon loses its connection
        wait_until(lambda: ready(http)[0] == 503, "the outage in /readyz")
        assert ready(http)[1]["checks"]["redis"]["ok"] is False  # type: ignore[index]
        assert redis_gauge(http) == 0
        at = http.get("/v1/status")["slice_index"]
        wait_until(lambda: http.get("/v1/status")["slice_index"] >= at + 5, "trading on")

        # back, but the daemon's user is disabled: operators can write, the daemon cannot read
        server.args = [*aof, *users(daemon_on=False)]
        server.start()
        operator.close()
        operator = redis_of(server.url)
        during = f"during-{uuid.uuid4().hex[:8]}"
        resume = {"type": "resume", "command_id": during, "strategy_id": "trend"}
        operator.client.xadd("paperfund:demo:commands", {"command": json.dumps(resume)})
        operator.client.xadd("paperfund:demo:commands", {"command": json.dumps(resume)})  # resent
        assert ready(http)[0] == 503
        assert http.get("/v1/strategies/trend")["state"] == "paused"

        operator.client.execute_command("ACL", "SETUSER", "paperfund", "on")
        wait_until(lambda: ready(http)[0] == 200, "the reconnection")
        wait_until(lambda: http.get("/v1/strategies/trend")["state"] == "running", "the resume")
        wait_until(lambda: len(answers(operator, during)) == 4, "both answers")
        assert answers(operator, during) == [
            ("accepted", "false"),
            ("applied", "false"),
            ("accepted", "true"),  # the resent command: its first outcome again
            ("applied", "true"),
        ]
        replies = http.get(f"/v1/commands/{during}")["replies"]
        assert [(r["status"], r["duplicate"]) for r in replies] == [
            ("accepted", False),
            ("applied", False),
        ]
        assert journaled_commands(state, during) == 1
        assert journaled_commands(state, "before") == 1
        assert redis_gauge(http) == 1
        operator.close()
    finally:
        code = daemon.stop()
        server.stop()
    assert code == 0, "".join(daemon.lines[-20:])
    events = [e["event"] for e in daemon.events()]
    assert "redis command channel disconnected" in events
    assert "redis command channel reconnected" in events
    assert PASSWORD not in "".join(daemon.lines)
