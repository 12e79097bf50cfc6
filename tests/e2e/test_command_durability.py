"""A command a transport answered survives a SIGKILL right after the answer, with the
journal committed only every `fsync_interval_s` (`fsync: interval`): the command is on disk
before any transport says `accepted` or `applied`. After the restart, the command's kept
outcome still answers `GET /v1/commands/{id}` and a repeat of it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.control_daemon import control_env, http_of, redis_of, started_redis
from tests.support.daemon_process import Daemon


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    yield from started_redis()


@pytest.mark.parametrize("transport", ["http", "redis"])
def test_an_answered_command_survives_a_kill_right_after_the_answer(
    tmp_path: Path, redis_url: str, transport: str
) -> None:
    state = tmp_path / "state"
    env = control_env(
        state,
        redis_url,
        PAPERFUND_STATE__FSYNC="interval",
        PAPERFUND_STATE__FSYNC_INTERVAL_S="3600",  # no commit on its own during the test
        PAPERFUND_STATE__SNAPSHOT_EVERY="1000000",
    )
    pause = {"type": "pause", "command_id": f"kill-{transport}", "strategy_id": "trend"}
    first = Daemon(env).wait_ready()
    try:
        channel = http_of(first) if transport == "http" else redis_of(redis_url)
        answer = channel.send(pause)
        assert (answer["status"], answer["duplicate"]) == ("applied", False)
    finally:
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    second = Daemon(env).wait_ready()
    try:
        http = http_of(second)
        assert http.get("/v1/strategies/trend")["state"] == "paused"
        kept = http.get(f"/v1/commands/{pause['command_id']}")["replies"]
        assert [(r["status"], r["detail"]) for r in kept] == [("accepted", ""), ("applied", "ok")]
        again = http.send(pause)
        assert (again["status"], again["duplicate"]) == ("applied", True)
    finally:
        assert second.stop() == 0, "".join(second.lines[-20:])
