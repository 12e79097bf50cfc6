"""A real daemon with both command transports (HTTP on a free port, the Redis channel on a
test `redis-server`), on an endless synthetic feed paced so that the fund keeps trading."""

from __future__ import annotations

from pathlib import Path

from tests.support.channels import HttpChannel, RedisChannel
from tests.support.daemon_process import Daemon, env_for

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


def http_of(daemon: Daemon, key: bytes | None = None) -> HttpChannel:
    port = daemon.event("http api listening")["port"]
    return HttpChannel(f"http://127.0.0.1:{port}", key)


def redis_of(redis_url: str, key: bytes | None = None) -> RedisChannel:
    return RedisChannel(redis_url, FUND, key)
