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
    # strict types: nothing is coerced
    ({"type": "remove", "strategy_id": "trend", "liquidate": "yes"}, "liquidate"),
    ({"type": "remove", "strategy_id": "trend", "liquidate": "no"}, "liquidate"),
    ({"type": "remove", "strategy_id": "trend", "liquidate": 0}, "liquidate"),
    ({"type": "remove", "strategy_id": "trend", "liquidate": 1}, "liquidate"),
    ({"type": "pause", "strategy_id": "trend", "reason": 5}, "reason"),
    ({"type": "pause", "strategy_id": 5}, "strategy_id"),
    ({"type": "rebalance", "weights": {"trend": True}}, "weights.trend"),
    ({"type": "rebalance", "algorithm": True}, "algorithm"),
    (
        {"type": "add", "strategy_id": "n", "catalog": "slow_trend", "allocation": True},
        "allocation",
    ),
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
    pause = {"type": "pause", "command_id": command_id, "strategy_id": "momentum"}
    first = channel.send(pause)
    again = channel.send(dict(reversed(pause.items())))  # the same command, keys reordered
    assert (first["status"], first["duplicate"]) == ("applied", False)
    assert (again["status"], again["duplicate"], again["detail"]) == ("applied", True, "ok")
    other = channel.send({"type": "resume", "command_id": command_id, "strategy_id": "momentum"})
    assert (other["status"], other["duplicate"]) == ("rejected", False)
    assert "already used by a different command" in other["detail"]
    assert strategy(http, "momentum")["state"] == "paused"  # the resume was not applied
    replies = http.get(f"/v1/commands/{command_id}")["replies"]
    assert [r["status"] for r in replies] == ["accepted", "applied"]
    fix = channel.send({"type": "resume", "command_id": cid(), "strategy_id": "momentum"})
    assert fix["status"] == "applied"


def test_a_command_refused_before_journaling_keeps_its_id(
    channel: HttpChannel | RedisChannel, http: HttpChannel
) -> None:
    command_id = cid()
    add = {"type": "add", "command_id": command_id, "strategy_id": f"late-{channel.name}"}
    add |= {"catalog": "slow_trend", "allocation": "0.99"}  # more than the reserve holds
    refused = channel.send(add)
    assert refused["status"] == "rejected" and "would exceed 100%" in refused["detail"]
    fits = channel.send(add | {"allocation": "0"})  # the same id with another body
    assert fits["status"] == "rejected" and fits["detail"].startswith("conflict")
    assert add["strategy_id"] not in {s["strategy_id"] for s in http.get("/v1/strategies")}
    assert [r["status"] for r in http.get(f"/v1/commands/{command_id}")["replies"]] == [
        "accepted",
        "rejected",
    ]


def sequence(replies: list[dict[str, Any]]) -> list[tuple[str, bool, bool]]:
    return [(r["status"], r["duplicate"], r["slice_index"] is not None) for r in replies]


def test_both_transports_give_the_same_reply_sequence(
    channel: HttpChannel | RedisChannel,
) -> None:
    status = {"type": "status", "command_id": cid()}
    assert sequence(channel.replies(status)) == [
        ("accepted", False, True),
        ("applied", False, True),
    ]
    repeated = channel.replies(status)
    assert sequence(repeated) == [("accepted", True, True), ("applied", True, True)]
    assert repeated[-1].get("data") is None  # the first outcome; its status data is not kept
    ghost = {"type": "pause", "command_id": cid(), "strategy_id": "ghost"}
    assert sequence(channel.replies(ghost)) == [
        ("accepted", False, True),
        ("rejected", False, True),
    ]
    conflict = channel.replies({**ghost, "strategy_id": "trend"})
    assert sequence(conflict) == [("rejected", False, True)]
    invalid = channel.replies({"type": "pause", "command_id": cid()})
    assert sequence(invalid) == [("rejected", False, False)]


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
