"""A daemon SIGKILLed after journaling a command but before acknowledging it in Redis gets
the command again after its restart, and applies it once: the journal holds it once, its
first outcome is replied again, and then it is acknowledged.

The daemon's ACL user may read the command stream and write replies but not `XACK`, so it
is stuck exactly between the two; the test kills it there, gives back `XACK`, restarts."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import redis

from tests.e2e.control_daemon import control_env, http_of
from tests.support.daemon_process import Daemon
from tests.support.redis_server import RedisServer, redis_server_binary

PASSWORD = "daemon-s3cret"
STREAM = "paperfund:demo:commands"
WAIT_S = 30.0


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` (bounded): waiting for an observable state, not for time to pass."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def journaled(state: Path, command_id: str) -> int:
    db_path = state / "state.sqlite3"
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT payload FROM journal WHERE kind = 'command'").fetchall()
    return sum(1 for (payload,) in rows if json.loads(payload)["command_id"] == command_id)


def pending(client: redis.Redis) -> int:
    return int(client.xpending(STREAM, "paperfund")["pending"])  # type: ignore[index]


def test_a_kill_between_journal_and_ack_applies_the_command_once(tmp_path: Path) -> None:
    binary = redis_server_binary()
    assert binary is not None, "tests/run.sh installs redis-server"
    daemon_user = ("--user", "paperfund", "on", f">{PASSWORD}", "~*", "&*", "+@all", "-xack")
    default = ("--user", "default", "on", "nopass", "~*", "&*", "+@all")
    with RedisServer(binary, args=[*daemon_user, *default]) as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        url = f"redis://paperfund:{PASSWORD}@127.0.0.1:{server.port}/0"
        state = tmp_path / "state"
        env = control_env(state, url, PAPERFUND_STATE__FSYNC="every_slice")
        first = Daemon(env).wait_ready()
        try:
            command = {"type": "pause", "command_id": "once", "strategy_id": "trend"}
            client.xadd(STREAM, {"command": json.dumps(command)})
            wait_until(lambda: journaled(state, "once") == 1, "the command in the journal")
            wait_until(lambda: client.xlen("paperfund:demo:replies") >= 2, "its replies")
            assert pending(client) == 1  # journaled and answered, never acknowledged
        finally:
            assert first.stop(signal.SIGKILL) == -signal.SIGKILL

        client.execute_command("ACL", "SETUSER", "paperfund", "+xack")
        second = Daemon(env).wait_ready()
        try:
            wait_until(lambda: pending(client) == 0, "the acknowledgement after the restart")
            http = http_of(second)
            assert http.get("/v1/strategies/trend")["state"] == "paused"
            replies = client.xrange("paperfund:demo:replies")
            outcomes = [
                (f["status"], f["duplicate"]) for _, f in replies if f["command_id"] == "once"
            ]
            assert ("accepted", "false") in outcomes and ("applied", "false") in outcomes
            assert outcomes[-1] == ("applied", "true")  # after the restart: the first outcome
            assert [o for o in outcomes if o == ("accepted", "false")] == [("accepted", "false")]
        finally:
            assert second.stop() == 0
        assert journaled(state, "once") == 1
        client.close()
