"""Thousands of malformed and hostile commands over both transports of a real daemon (signing
on): random bytes and JSON, huge and deeply nested payloads, wrong types, forged signatures,
signed commands the fund must refuse. Each one gets a rejection, the fund is unchanged, and
the daemon stays up."""

from __future__ import annotations

import json
import random
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from daemon.control.service import MAX_COMMAND_BYTES, sign
from tests.e2e.control_daemon import control_daemon, http_of, redis_of, started_redis
from tests.support.channels import HttpChannel, RedisChannel
from tests.support.daemon_process import Daemon

KEY = b"fuzzing-shared-secret-0123"
PER_TRANSPORT = 2500  # 5,000 in all
STRATEGIES = ["trend", "momentum", "mean_reversion"]


def junk_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 2**70, 1.5, float("1e308")])
    if kind == 2:
        return "".join(chr(rng.randrange(0x10FFFF)) for _ in range(rng.randrange(12)))
    if kind == 3:
        return rng.choice(["pause", "resume", "add", "", "\x00", "status"])
    if kind == 4:
        return [junk_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["type", "command_id", "strategy_id", "weights", "x", "allocation", "catalog"]
    return {rng.choice(keys): junk_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def refused(rng: random.Random, i: int) -> dict[str, Any]:
    """Well-formed commands the fund must refuse (sent properly signed)."""
    cid = f"fz-{i}"
    sid = rng.choice(STRATEGIES)
    return rng.choice(
        [
            {"type": "pause", "command_id": cid, "strategy_id": f"ghost-{i}"},
            {"type": "resume", "command_id": cid, "strategy_id": sid},  # all are running
            {"type": "remove", "command_id": cid, "strategy_id": f"ghost-{i}"},
            {"type": "rebalance", "command_id": cid, "weights": {sid: "0.9", "x": "0.2"}},
            {"type": "rebalance", "command_id": cid, "weights": dict.fromkeys(STRATEGIES, "0.5")},
            {
                "type": "add",
                "command_id": cid,
                "strategy_id": sid,
                "catalog": "slow_trend",
                "allocation": "0.01",
            },  # an id in use
            {
                "type": "add",
                "command_id": cid,
                "strategy_id": "n",
                "catalog": "x" * 100,
                "allocation": "0",
            },
            {"type": "pause", "command_id": cid, "strategy_id": sid, "reason": "r" * 501},
            {"type": "pause", "command_id": f"bad id {i}", "strategy_id": sid},
            {"type": "rebalance", "command_id": cid, "weights": {sid: "NaN"}},
            {"type": "rebalance", "command_id": cid, "weights": {sid: [1]}},
            {
                "type": "add",
                "command_id": cid,
                "strategy_id": "n",
                "catalog": "slow_trend",
                "allocation": "-0.1",
            },
        ]
    )


def hostile(rng: random.Random, i: int) -> tuple[bytes, str | None]:
    """One payload and its signature (None: unsigned)."""
    kind = i % 8
    if kind == 0:  # random bytes, signed: still not a command
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        return body, sign(KEY, body)
    if kind == 1:  # random JSON, signed
        body = json.dumps(junk_json(rng)).encode()
        return body, sign(KEY, body)
    if kind == 2:  # a command that would apply, forged
        body = json.dumps({"type": "pause", "command_id": f"f-{i}", "strategy_id": "trend"})
        return body.encode(), sign(b"not-the-key-at-all-000", body.encode())
    if kind == 3:  # a command that would apply, unsigned
        body = json.dumps({"type": "remove", "command_id": f"u-{i}", "strategy_id": "trend"})
        return body.encode(), None
    if kind == 4:  # too large
        body = json.dumps({"type": "status", "command_id": "big", "pad": "x" * MAX_COMMAND_BYTES})
        return body.encode(), sign(KEY, body.encode())
    if kind == 5:  # deeply nested
        depth = rng.randrange(1_000, 20_000)
        body = ("[" * depth + "]" * depth).encode()
        return body, sign(KEY, body)
    if kind == 6:  # garbage signature
        body = json.dumps({"type": "status", "command_id": f"g-{i}"}).encode()
        return body, rng.choice(["", "zz", "0" * 64, "é" * 10])
    body = json.dumps(refused(rng, i)).encode()
    return body, sign(KEY, body)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    yield from started_redis()


@pytest.fixture(scope="module")
def daemon(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    state = tmp_path_factory.mktemp("fuzz") / "state"
    yield from control_daemon(
        state, redis_url, bar_s=3600.0, PAPERFUND_CONTROL__SIGNING_KEY=KEY.decode()
    )


def fund_shape(http: HttpChannel) -> Any:
    return http.get("/v1/status"), http.get("/v1/strategies")


@pytest.mark.parametrize("transport", ["http", "redis"])
def test_every_hostile_command_is_rejected_and_changes_nothing(
    daemon: Daemon, redis_url: str, transport: str
) -> None:
    http = http_of(daemon, KEY)
    before = fund_shape(http)
    rng = random.Random(f"paperfund-fuzz-{transport}")
    payloads = [hostile(rng, i) for i in range(PER_TRANSPORT)]
    if transport == "http":
        replies = [http.send_raw(body, signature) for body, signature in payloads]
    else:
        channel: RedisChannel = redis_of(redis_url, KEY)
        replies = []
        for start in range(0, len(payloads), 500):
            replies += channel.send_many(payloads[start : start + 500])
        channel.close()
    assert len(replies) == PER_TRANSPORT
    accepted = [r for r in replies if r["status"] != "rejected"]
    assert accepted == []
    assert all(r["detail"] for r in replies)  # each says why
    assert fund_shape(http) == before
    assert http.get("/healthz") == {"status": "ok"}
    assert daemon.proc.poll() is None
    with urllib.request.urlopen(http.base + "/metrics", timeout=10) as response:
        metrics = response.read().decode()
    failures = [ln for ln in metrics.splitlines() if ln.startswith("paperfund_command_signature")]
    assert failures and float(failures[-1].split()[-1]) > 0
