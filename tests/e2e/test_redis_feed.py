"""The real daemon on the Redis feed: bars published to a stream by another process give the
same fund as the same bars from the synthetic feed, across a SIGKILL and a restart (bars are
acknowledged only after their slice is journaled, so none is lost or stepped twice)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml

from config import feed_options, load_settings
from core.market import Slice
from daemon.feeds import build_feed
from tests.support.daemon_process import ROOT, env_for, run, start
from tests.support.redis_server import RedisServer, redis_server_binary

STREAM = "paperfund:bars"
WAIT_S = 120.0
POLL_S = 0.05


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    binary = redis_server_binary()
    assert binary is not None, "tests/run.sh installs redis-server"
    with RedisServer(binary) as running:
        yield running


def demo_slices() -> list[Slice]:
    """The bars of the embedded demo's synthetic feed."""
    kind, options = feed_options(load_settings(None))

    async def collect() -> list[Slice]:
        async with build_feed(kind, **options) as feed:
            return [s async for s in feed]

    return asyncio.run(collect())


def publish(client: redis.Redis, slices: list[Slice]) -> None:
    pipe = client.pipeline(transaction=False)
    for market in slices:
        for symbol, bar in market.items():
            fields = {"symbol": symbol, "ts": market.ts.isoformat()}
            fields |= {f: str(getattr(bar, f)) for f in ("open", "high", "low", "close")}
            fields["volume"] = str(bar.volume)
            pipe.xadd(STREAM, fields)  # type: ignore[arg-type]
    pipe.execute()


def acknowledged(client: redis.Redis) -> int:
    """Entries the daemon's group has read and acknowledged."""
    groups = client.xinfo_groups(STREAM)
    if not groups:
        return 0
    (group,) = groups
    return int(group["entries-read"] or 0) - int(group["pending"])


def wait_acknowledged(client: redis.Redis, count: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while acknowledged(client) < count:
        assert time.monotonic() < deadline, f"{acknowledged(client)} of {count} acknowledged"
        time.sleep(POLL_S)


def config_file(tmp_path: Path, url: str, symbols: list[str]) -> Path:
    settings = yaml.safe_load((ROOT / "config/examples/demo.yaml").read_text())
    settings["feed"] = {
        "kind": "redis",
        "url": url,
        "stream": STREAM,
        "symbols": symbols,
        "grace_period_s": 60.0,
        "block_ms": 100,
    }
    path = tmp_path / "fund.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def test_redis_feed_gives_the_synthetic_fund_across_a_kill(
    tmp_path: Path, server: RedisServer
) -> None:
    reference = run(env_for(tmp_path / "reference"))
    assert reference.returncode == 0, reference.stderr
    slices = demo_slices()
    width = len(slices[0])
    client = redis.Redis.from_url(server.url, decode_responses=True)
    client.delete(STREAM)
    config = config_file(tmp_path, server.url, sorted(slices[0]))
    env = env_for(tmp_path / "state")
    try:
        publish(client, slices[:200])
        first = start(env, "--config", str(config))
        wait_acknowledged(client, 200 * width)
        publish(client, slices[200:300])
        first.send_signal(signal.SIGKILL)  # somewhere in those 100 slices, or after them
        first.communicate(timeout=30)

        second = start(env, "--config", str(config))
        publish(client, slices[300:])
        wait_acknowledged(client, len(slices) * width)
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=60)
    finally:
        client.close()
    assert second.returncode == 0, err
    assert "ready at slice 0 " not in err  # the restart recovered the first run's slices
    assert out == reference.stdout
