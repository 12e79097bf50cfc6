"""One command-channel suite, run against both transports of a real daemon (HTTP and Redis
Streams): every command's outcome, rejections that say why and change nothing, exactly-once
command ids, and status."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.control_daemon import control_daemon, http_of, redis_of, started_redis
from tests.support.channels import HttpChannel, RedisChannel
from tests.support.daemon_process import Daemon


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    yield from started_redis()


@pytest.fixture(scope="module")
def daemon(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    state = tmp_path_factory.mktemp("channels") / "state"
    yield from control_daemon(state, redis_url)


@pytest.fixture(scope="module")
def http(daemon: Daemon) -> HttpChannel:
    return http_of(daemon)


@pytest.fixture(params=["http", "redis"])
def channel(
    request: pytest.FixtureRequest, http: HttpChannel, redis_url: str
) -> Iterator[HttpChannel | RedisChannel]:
    if request.param == "http":
        yield http
        return
    client = redis_of(redis_url)
    yield client
    client.close()


def cid() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def strategy(http: HttpChannel, sid: str) -> dict[str, Any]:
    return dict(http.get(f"/v1/strategies/{sid}"))


def shape(http: HttpChannel) -> list[tuple[str, str, str]]:
    """What a rejected command must not change: ids, states and targets."""
    return [(s["strategy_id"], s["state"], s["target_weight"]) for s in http.get("/v1/strategies")]


def test_pause_and_resume(channel: HttpChannel | RedisChannel, http: HttpChannel) -> None:
    paused = channel.send({"type": "pause", "command_id": cid(), "strategy_id": "trend"})
    assert paused["status"] == "applied" and paused["slice_index"] is not None
    assert strategy(http, "trend")["state"] == "paused"
    resumed = channel.send({"type": "resume", "command_id": cid(), "strategy_id": "trend"})
    assert resumed["status"] == "applied"
    assert strategy(http, "trend")["state"] == "running"


def test_rebalance_add_and_remove(channel: HttpChannel | RedisChannel, http: HttpChannel) -> None:
    room = channel.send({"type": "rebalance", "command_id": cid(), "weights": {"trend": "0.1"}})
    assert room["status"] == "applied" and room["detail"].startswith("costs ")
    assert Decimal(strategy(http, "trend")["target_weight"]) == Decimal("0.1")
    sid = f"slow-{channel.name}"
    add = {"type": "add", "command_id": cid(), "strategy_id": sid, "catalog": "slow_trend"}
    added = channel.send(add | {"allocation": "0.05"})
    assert (added["status"], added["detail"]) == ("applied", "added")
    assert strategy(http, sid)["state"] == "running"
    removed = channel.send({"type": "remove", "command_id": cid(), "strategy_id": sid})
    assert removed["status"] == "applied" and removed["detail"].startswith("returned ")
    assert sid not in {s["strategy_id"] for s in http.get("/v1/strategies")}
    configured = channel.send({"type": "rebalance", "command_id": cid(), "algorithm": "configured"})
    assert configured["status"] == "applied"


REJECTED: list[tuple[dict[str, Any], str]] = [
    ({"type": "pause", "strategy_id": "ghost"}, "ghost"),
    ({"type": "resume", "strategy_id": "trend"}, "trend"),
    ({"type": "rebalance", "weights": {"trend": "0.7", "momentum": "0.6"}}, "100%"),
    ({"type": "rebalance", "weights": {"trend": "1.5"}}, "weights.trend"),
    ({"type": "pause"}, "strategy_id: Field required"),
    ({"type": "fly"}, "does not match any of the expected tags"),
    ({"type": "remove", "strategy_id": "trend", "liquidate": "maybe"}, "liquidate"),
    (
        {"type": "add", "strategy_id": "n", "catalog": "nowhere", "allocation": "0"},
        "nowhere",
    ),
]


@pytest.mark.parametrize(("command", "reason"), REJECTED)
def test_rejections_say_why_and_change_nothing(
    channel: HttpChannel | RedisChannel, http: HttpChannel, command: dict[str, Any], reason: str
) -> None:
    before = shape(http)
    reply = channel.send({"command_id": cid(), **command})
    assert reply["status"] == "rejected"
    assert reason in reply["detail"], reply["detail"]
    assert shape(http) == before


def test_a_command_id_is_applied_once(
    channel: HttpChannel | RedisChannel, http: HttpChannel
) -> None:
    command_id = cid()
    first = channel.send({"type": "pause", "command_id": command_id, "strategy_id": "momentum"})
    again = channel.send({"type": "resume", "command_id": command_id, "strategy_id": "momentum"})
    assert (first["status"], first["duplicate"]) == ("applied", False)
    assert (again["status"], again["duplicate"], again["detail"]) == ("applied", True, "ok")
    assert strategy(http, "momentum")["state"] == "paused"  # the resume was not applied
    replies = http.get(f"/v1/commands/{command_id}")["replies"]
    assert [r["status"] for r in replies][:2] == ["accepted", "applied"]
    fix = channel.send({"type": "resume", "command_id": cid(), "strategy_id": "momentum"})
    assert fix["status"] == "applied"


def test_status(channel: HttpChannel | RedisChannel, http: HttpChannel) -> None:
    reply = channel.send({"type": "status", "command_id": cid()})
    assert reply["status"] == "applied"
    data = reply["data"]
    assert data["fund"] == "demo" and data["strategies"] >= 3
    assert data["slice_index"] <= http.get("/v1/status")["slice_index"]


def test_each_command_and_rebalance_is_one_log_event(
    daemon: Daemon, channel: HttpChannel | RedisChannel
) -> None:
    command_id = cid()
    reply = channel.send({"type": "rebalance", "command_id": command_id, "algorithm": "configured"})
    assert reply["status"] == "applied"
    deadline = time.monotonic() + 10
    while not (mine := [e for e in daemon.events() if e.get("command_id") == command_id]):
        assert time.monotonic() < deadline, "no log event for the command"
        time.sleep(0.01)  # the log line is written before the reply; its reader is a thread
    assert [(e["event"], e["type"], e["level"]) for e in mine] == [
        ("command applied", "rebalance", "info")
    ]
    assert all("timestamp" in e and "logger" in e for e in daemon.events())
    slices = [e for e in daemon.events() if "slice" in e["event"] and e["level"] == "info"]
    assert len(slices) <= 2  # ready (and stopped): nothing per bar at INFO
