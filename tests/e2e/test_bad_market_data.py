"""Bad market data published to Redis against the real daemon: finite but huge numbers and
far-future timestamps are rejected at the edge and counted, malformed entries too, and a
slice that gets past the bounds is a strategy error that survives a kill and a restart."""

from __future__ import annotations

import re
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from core.market import Slice
from tests.e2e.test_redis_feed import demo_slices
from tests.support.daemon_process import ROOT, Daemon, env_for, journaled_slices
from tests.support.redis_server import RedisServer, redis_server_binary

HUGE = "1e999999999"
WAIT_S = 120.0


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    binary = redis_server_binary()
    assert binary is not None, "tests/run.sh installs redis-server"
    with RedisServer(binary) as running:
        yield running


@pytest.fixture(scope="module")
def slices() -> list[Slice]:
    return demo_slices()[:200]


def entries(market: Slice, **override: str) -> list[dict[str, str]]:
    rows = []
    for symbol, bar in market.items():
        row = {"symbol": symbol, "ts": market.ts.isoformat(), "volume": str(bar.volume)}
        row |= {f: str(getattr(bar, f)) for f in ("open", "high", "low", "close")}
        rows.append(row | override)
    return rows


def publish(client: redis.Redis, stream: str, rows: list[dict[str, str]]) -> None:
    pipe = client.pipeline(transaction=False)
    for row in rows:
        pipe.xadd(stream, row)  # type: ignore[arg-type]
    pipe.execute()


def config_file(tmp_path: Path, url: str, stream: str, **feed: Any) -> Path:
    settings = yaml.safe_load((ROOT / "config/examples/demo.yaml").read_text())
    settings["feed"] = {
        "kind": "redis",
        "url": url,
        "stream": stream,
        "symbols": ["AAA", "BBB", "CCC", "DDD", "EEE"],
        "grace_period_s": 60.0,
        "block_ms": 100,
        **feed,
    }
    path = tmp_path / f"{stream}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def settled(client: redis.Redis, stream: str, count: int, daemon: Daemon) -> None:
    """Wait until the daemon acknowledged `count` entries of `stream` (it must stay alive)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        assert daemon.proc.poll() is None, "the daemon died:\n" + "".join(daemon.lines[-30:])
        groups = client.xinfo_groups(stream)
        if groups and int(groups[0]["entries-read"] or 0) - int(groups[0]["pending"]) >= count:
            return
        assert time.monotonic() < deadline, f"fewer than {count} entries acknowledged"
        time.sleep(0.05)


def metrics(daemon: Daemon) -> str:
    port = daemon.event("http api listening")["port"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


def sample(text: str, name: str, **labels: str) -> float:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name + (f"{{{inner}}}" if inner else "")) + r" (\S+)"
    found = re.search(rf"^{pattern}$", text, re.MULTILINE)
    assert found is not None, f"{name} {labels} not in the metrics"
    return float(found.group(1))


def test_huge_far_future_and_malformed_entries_are_rejected_and_counted(
    tmp_path: Path, server: RedisServer, slices: list[Slice]
) -> None:
    client = redis.Redis.from_url(server.url, decode_responses=True)
    stream = "bars:edge"
    rows = [row for market in slices[:150] for row in entries(market)]
    rows += entries(slices[150], open=HUGE, high=HUGE, close=HUGE)  # every symbol, once
    rows.append(
        {
            "symbol": "AAA",
            "ts": "2999-01-01T00:00:00Z",
            "open": "1",
            "high": "1",
            "low": "1",
            "close": "1",
        }
    )
    rows.append({"ts": slices[151].ts.isoformat(), "open": "1"})  # no symbol
    rows += [row for market in slices[151:] for row in entries(market)]
    publish(client, stream, rows)
    config = config_file(tmp_path, server.url, stream, grace_period_s=0.5)
    daemon = Daemon(env_for(tmp_path / "state"), "--config", str(config)).wait_ready()
    try:
        settled(client, stream, len(rows), daemon)
        text = metrics(daemon)
        rejected = "paperfund_feed_bars_rejected_total"
        assert sample(text, rejected, reason="out_of_range") == 5
        assert sample(text, rejected, reason="future") == 1
        assert sample(text, rejected, reason="malformed") == 1
        assert sample(text, rejected, reason="out_of_order") == 0
    finally:
        code = daemon.stop()
        client.close()
    assert code == 0, "".join(daemon.lines[-30:])
    assert journaled_slices(tmp_path / "state") == 199  # all but the one that was all huge


def test_a_slice_past_the_bounds_is_a_strategy_error_even_across_a_kill(
    tmp_path: Path, server: RedisServer, slices: list[Slice]
) -> None:
    client = redis.Redis.from_url(server.url, decode_responses=True)
    huge = entries(slices[150], open=HUGE, high=HUGE, close=HUGE)
    rows = [row for market in slices[:150] for row in entries(market)] + huge
    rest = [row for market in slices[151:] for row in entries(market)]
    wide = {"limits": {"max_price": HUGE}}
    env = env_for(
        tmp_path / "state",
        PAPERFUND_STATE__SNAPSHOT_EVERY="1000",
        # what is tested here is the data, not how fast a stop is: on a loaded machine a
        # stop (its final snapshot is written with fsync) has taken longer than the
        # default 10 s grace
        PAPERFUND_DEADLINES__SHUTDOWN_GRACE_S="60",
    )
    outputs = []
    try:
        for run, stream in enumerate(("bars:straight", "bars:killed")):
            publish(client, stream, rows)
            config = config_file(tmp_path, server.url, stream, **wide)
            state = {"PAPERFUND_STATE__DIR": str(tmp_path / stream)}
            daemon = Daemon(env | state, "--config", str(config)).wait_ready()
            settled(client, stream, len(rows), daemon)
            errors = sum(
                sample(metrics(daemon), "paperfund_strategy_errors_total", strategy=sid)
                for sid in ("trend", "momentum", "mean_reversion")
            )
            assert errors >= 1  # a strategy holding a position could not be marked
            if run == 1:  # the huge slice is journaled; recovery replays it
                assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
                daemon = Daemon(env | state, "--config", str(config)).wait_ready()
            publish(client, stream, rest)
            settled(client, stream, len(rows) + len(rest), daemon)
            assert daemon.stop() == 0, "".join(daemon.lines[-30:])
            outputs.append("".join(daemon.out))
    finally:
        client.close()
    assert outputs[0] == outputs[1]
    assert "state digest: " in outputs[0]
