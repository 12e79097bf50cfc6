"""A real daemon with both command transports (HTTP on a free port, the Redis channel on a
test `redis-server`), on an endless synthetic feed paced so that the fund keeps trading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.support.channels import HttpChannel, RedisChannel
from tests.support.daemon_process import Daemon, env_for
from tests.support.redis_server import RedisServer, redis_server_binary

FUND = "demo"


def control_env(state: Path, redis_url: str, bar_s: float = 0.2, **extra: str) -> dict[str, str]:
    settings = {
        "PAPERFUND_FEED__BARS": "null",
        "PAPERFUND_FEED__SPEED": str(86400 / bar_s),
        "PAPERFUND_STATE__FSYNC": "interval",
        "PAPERFUND_CONTROL__REDIS__URL": redis_url,
        "PAPERFUND_CONTROL__REDIS__BLOCK_MS": "200",
        "PAPERFUND_CONTROL__REDIS__BACKOFF_S": "0.05",
        "PAPERFUND_CONTROL__REDIS__MAX_BACKOFF_S": "0.5",
    }
    return env_for(state, **(settings | extra))


def control_daemon(
    state: Path, redis_url: str, bar_s: float = 0.2, **extra: str
) -> Iterator[Daemon]:
    """A fixture body: the daemon, ready; stopped gracefully (exit 0) at teardown."""
    running = Daemon(control_env(state, redis_url, bar_s, **extra)).wait_ready()
    yield running
    assert running.stop() == 0, "".join(running.lines[-20:])


def started_redis() -> Iterator[str]:
    """A fixture body: a throwaway redis-server's URL."""
    binary = redis_server_binary()
    assert binary is not None, "tests/run.sh installs redis-server"
    with RedisServer(binary) as server:
        yield server.url


def http_of(daemon: Daemon, key: bytes | None = None) -> HttpChannel:
    port = daemon.event("http api listening")["port"]
    return HttpChannel(f"http://127.0.0.1:{port}", key)


def redis_of(redis_url: str, key: bytes | None = None) -> RedisChannel:
    return RedisChannel(redis_url, FUND, key)
