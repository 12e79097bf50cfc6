"""The HTTP control plane, served on loopback and driven by a real client: every command
changes the running fund (or, rejected, changes nothing and says why), errors are JSON,
the token and signatures are enforced, health and metrics answer."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from daemon.control.http import TOO_LARGE, build_app, requires_token, serve
from daemon.control.openapi import COMMAND_EXAMPLES, SIGNATURE_HEADER
from daemon.control.service import MAX_COMMAND_BYTES, sign
from tests.support.control_plane import JSON, control, pause

TOKEN = "t0ken-for-tests"
KEY = b"shared-secret"


# ---- commands ----------------------------------------------------------------------------


async def test_pause_resume_add_remove_change_the_running_fund(tmp_path: Path) -> None:
    async with control(tmp_path) as c:
        await c.feed.release(*c.slices[:3])
        status, body = await c.post(pause() | {"reason": "review"})
        assert status == 200
        assert body["reply"]["status"] == "applied"
        assert body["accepted"]["status"] == "accepted"
        assert body["accepted"]["slice_index"] == body["reply"]["slice_index"] == 3
        _, trend = await c.get("/v1/strategies/trend")
        assert (trend["state"], trend["pause_reason"]) == ("paused", "review")

        status, body = await c.post({"type": "resume", "command_id": "r1", "strategy_id": "trend"})
        assert (status, body["reply"]["status"]) == (200, "applied")
        assert (await c.get("/v1/strategies/trend"))[1]["state"] == "running"

        room = {"type": "rebalance", "command_id": "w1", "weights": {"trend": "0.1"}}
        assert (await c.post(room))[0] == 200
        status, body = await c.post(COMMAND_EXAMPLES["add"])
        assert (status, body["reply"]["detail"]) == (200, "added")
        status, slow = await c.get("/v1/strategies/slow")
        assert (status, slow["catalog"], slow["state"]) == (200, "slow_trend", "running")
        ids = {s["strategy_id"] for s in (await c.get("/v1/strategies"))[1]}
        assert ids == {"trend", "mean_reversion", "momentum", "slow"}

        status, body = await c.post(COMMAND_EXAMPLES["remove"])
        assert status == 200 and body["reply"]["detail"].startswith("returned ")
        assert await c.get("/v1/strategies/slow") == (404, {"error": "no strategy 'slow'"})
        assert (await c.get("/v1/status"))[1]["strategies"] == 3


async def test_rebalance_moves_the_weights_and_is_listed(tmp_path: Path) -> None:
    async with control(tmp_path) as c:
        await c.feed.release(*c.slices[:4])
        _, before = await c.get("/v1/rebalances")
        status, body = await c.post(COMMAND_EXAMPLES["rebalance"])
        assert (status, body["reply"]["status"]) == (200, "applied")
        trend = (await c.get("/v1/strategies/trend"))[1]
        assert Decimal(trend["target_weight"]) == Decimal("0.2")
        _, after = await c.get("/v1/rebalances")
        assert len(after) == len(before) + 1
        assert after[-1]["reason"] == "Manual rebalancing"
        assert Decimal(after[-1]["targets"]["trend"]) == Decimal("0.2")
        assert await c.get("/v1/rebalances?limit=1") == (200, after[-1:])
        assert (await c.get("/v1/status"))[1]["rebalances"] == len(after)


async def test_status_and_snapshot(tmp_path: Path) -> None:
    async with control(tmp_path) as c:
        await c.feed.release(*c.slices[:2])
        status, body = await c.post(COMMAND_EXAMPLES["status"])
        assert status == 200 and body["accepted"]["status"] == "accepted"  # outcome journaled
        assert body["reply"]["data"] == (await c.get("/v1/status"))[1]
        assert body["reply"]["data"]["fund"] == "demo"
        assert body["reply"]["data"]["slice_index"] == 2

        store = c.fund.store
        status, body = await c.post(COMMAND_EXAMPLES["snapshot"])
        assert (status, body["reply"]["detail"]) == (200, "snapshot written")
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.journal_seq == store.last_seq


async def test_status_names_a_strategy_whose_state_stops_the_snapshots(tmp_path: Path) -> None:
    locking = {"class": "tests.support.rogue_strategies:KeepsALock", "params": {"on_bar": 2}}
    async with control(tmp_path, catalog={"locking": locking}) as c:
        await c.feed.release(*c.slices[:1])
        add = {"type": "add", "command_id": "a", "strategy_id": "lock", "catalog": "locking"}
        status, body = await c.post({**add, "allocation": "0.05"})
        assert (status, body["reply"]["status"]) == (200, "applied")
        await c.feed.release(*c.slices[1:4])  # it keeps a lock from its second bar on
        _, body = await c.post(COMMAND_EXAMPLES["snapshot"])
        refusal = body["reply"]["detail"]
        assert body["reply"]["status"] == "rejected"
        assert refusal.startswith("strategy lock cannot be saved: context.lock: TypeError")
        assert (await c.get("/v1/status"))[1]["snapshot_error"] == refusal
        _, body = await c.post({"type": "remove", "command_id": "r", "strategy_id": "lock"})
        assert body["reply"]["status"] == "applied"
        _, body = await c.post({**COMMAND_EXAMPLES["snapshot"], "command_id": "again"})
        assert body["reply"]["detail"] == "snapshot written"
        assert (await c.get("/v1/status"))[1]["snapshot_error"] is None


async def test_replies_are_kept_per_command_id(tmp_path: Path) -> None:
    async with control(tmp_path) as c:
        _, posted = await c.post(pause("kept"))
        status, body = await c.get("/v1/commands/kept")
        assert status == 200
        assert body == {"command_id": "kept", "replies": [posted["accepted"], posted["reply"]]}
        assert [r["status"] for r in body["replies"]] == ["accepted", "applied"]
        status, again = await c.post(pause("kept"))  # the same id: the first outcome again
        assert (status, again["reply"]["duplicate"], again["accepted"]["duplicate"]) == (
            200,
            True,
            True,
        )
        assert await c.get("/v1/commands/unknown") == (
            404,
            {"error": "no replies kept for command 'unknown'"},
        )


REJECTED: list[tuple[bytes | dict[str, Any], str, int]] = [
    (b'{"type": "pause",', "Invalid JSON", 422),
    ({"type": "fly", "command_id": "f1"}, "does not match any of the expected tags", 422),
    ({"type": "pause", "command_id": "m1"}, "strategy_id: Field required", 422),
    # valid commands the fund refuses in its state: a conflict, not invalid input
    (pause("g1", "ghost"), "ghost", 409),
    (
        {"type": "rebalance", "command_id": "w1", "weights": {"trend": "0.6", "momentum": "0.5"}},
        "must be <= 100%",
        409,
    ),
]


@pytest.mark.parametrize(("command", "reason", "code"), REJECTED)
async def test_rejections_say_why_and_change_nothing(
    tmp_path: Path, command: bytes | dict[str, Any], reason: str, code: int
) -> None:
    async with control(tmp_path) as c:
        await c.feed.release(*c.slices[:2])
        digest, view = await c.fund.digest(), await c.get("/v1/status")
        status, body = await c.post(command)
        assert status == code
        assert (body["accepted"] is not None) == (code == 409)  # journaled, then refused
        assert body["reply"]["status"] == "rejected"
        assert reason in body["reply"]["detail"]
        assert await c.fund.digest() == digest
        assert await c.get("/v1/status") == view


async def test_body_size_limit(tmp_path: Path) -> None:
    async with control(tmp_path) as c:
        command = json.dumps(pause("big")).encode()
        exact = command + b" " * (MAX_COMMAND_BYTES - len(command))
        assert (await c.post(exact))[0] == 200
        too_big = exact + b" "
        assert await c.post(too_big) == (413, {"error": TOO_LARGE})

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read up to the limit
            yield too_big[:1000]
            yield too_big[1000:]

        response = await c.call("POST", "/v1/commands", data=chunks(), headers=JSON)
        assert response == (413, {"error": TOO_LARGE})


CONTENT_TYPES = [(None, 200), ("application/json", 200), ("application/json; charset=utf-8", 200)]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [*CONTENT_TYPES, ("text/plain", 415), ("application/x-www-form-urlencoded", 415)],
)
async def test_content_type(tmp_path: Path, content_type: str | None, status: int) -> None:
    async with control(tmp_path) as c:
        headers = {} if content_type is None else {"Content-Type": content_type}
        body = json.dumps(pause()).encode()
        async with c.client.post(
            "/v1/commands", data=body, headers=headers, skip_auto_headers=["Content-Type"]
        ) as response:
            assert response.status == status
            answer = await response.json()
        if status == 415:
            assert "content type must be application/json" in answer["error"]
            assert (await c.get("/v1/strategies/trend"))[1]["state"] == "running"
        else:
            assert answer["reply"]["status"] == "applied"


async def test_signed_commands(tmp_path: Path) -> None:
    async with control(tmp_path, signing_key=KEY) as c:
        body = json.dumps(pause()).encode()
        status, unsigned = await c.post(body)
        assert status == 403 and "signature required" in unsigned["reply"]["detail"]
        forged = JSON | {SIGNATURE_HEADER: sign(b"other", body)}
        status, bad = await c.post(body, forged)
        assert (status, bad["reply"]["detail"]) == (403, "bad signature")
        status, invalid = await c.post(b"{}", JSON | {SIGNATURE_HEADER: sign(KEY, b"{}")})
        assert status == 422 and invalid["reply"]["status"] == "rejected"
        assert (await c.get("/v1/strategies/trend"))[1]["state"] == "running"
        status, good = await c.post(body, JSON | {SIGNATURE_HEADER: sign(KEY, body)})
        assert (status, good["reply"]["status"]) == (200, "applied")
        assert (await c.get("/v1/strategies/trend"))[1]["state"] == "paused"


# ---- access --------------------------------------------------------------------------------


async def test_the_token_guards_the_v1_routes_only(tmp_path: Path) -> None:
    async with control(tmp_path, token=TOKEN) as c:
        for authorization in (None, "Bearer wrong-guess", f"Basic {TOKEN}", "Bearer"):
            headers = {} if authorization is None else {"Authorization": authorization}
            async with c.client.get("/v1/status", headers=headers) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                text = await response.text()
            assert "error" in json.loads(text)
            assert "wrong-guess" not in text and TOKEN not in text
        assert (await c.post(pause(), JSON))[0] == 401
        assert (await c.get("/v1/nowhere"))[0] == 401  # unknown /v1 routes stay hidden
        for path in ("/healthz", "/openapi.json"):
            assert (await c.get(path))[0] == 200
        assert (await c.get("/readyz"))[0] == 200
        assert (await c.get("/metrics"))[0] == 404  # open, and not configured here

        bearer = {"Authorization": f"Bearer {TOKEN}"}
        trend = (await c.get("/v1/strategies/trend", headers=bearer))[1]
        assert trend["state"] == "running"  # the refused pause did nothing
        assert (await c.post(pause(), JSON | bearer))[0] == 200
        assert (await c.get("/v1/strategies/trend", headers=bearer))[1]["state"] == "paused"
        assert (await c.get("/v1/nowhere", headers=bearer))[0] == 404


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        build_app(None, None, token="")  # type: ignore[arg-type]


LOOPBACK = ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost", "LocalHost", "::ffff:127.0.0.1"]
EXPOSED = ["0.0.0.0", "::", "", "192.168.1.20", "2001:db8::1", "::ffff:10.0.0.1", "fund.example"]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_needs_no_token(host: str) -> None:
    assert not requires_token(host)


@pytest.mark.parametrize("host", EXPOSED)
def test_any_other_address_needs_a_token(host: str) -> None:
    assert requires_token(host)


# ---- errors, health, metrics ---------------------------------------------------------------


async def test_errors_are_json_and_specific(tmp_path: Path) -> None:
    async with control(tmp_path) as c:
        assert await c.get("/nowhere") == (404, {"error": "no route GET /nowhere"})
        async with c.client.post("/v1/status") as response:
            assert response.status == 405
            assert response.headers["Allow"] == "GET"
            assert await response.json() == {
                "error": "method POST is not allowed on /v1/status; allowed: GET"
            }
        assert (await c.call("DELETE", "/v1/commands"))[0] == 405
        assert await c.get("/v1/strategies/ghost") == (404, {"error": "no strategy 'ghost'"})
        for bad in ("abc", "0", "-3", "1.5"):
            status, body = await c.get(f"/v1/rebalances?limit={bad}")
            assert status == 400
            assert body == {"error": f"limit must be a positive integer, not {bad!r}"}


async def test_readiness_waits_for_a_fresh_slice(tmp_path: Path) -> None:
    async with control(tmp_path, max_bar_age_s=3600) as c:
        assert await c.get("/healthz") == (200, {"status": "ok"})
        status, body = await c.get("/readyz")
        assert (status, body["ready"]) == (503, False)
        assert body["checks"]["feed"] == {"ok": False, "detail": "no slice processed yet"}
        assert body["checks"]["recovered"]["ok"] and body["checks"]["journal"]["ok"]
        await c.feed.release(c.slices[0])
        status, body = await c.get("/readyz")
        assert (status, body["ready"]) == (200, True)
        assert body["checks"]["feed"]["ok"]


async def test_metrics_come_from_the_given_exposition(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    Counter("paperfund_test_requests", "requests seen", registry=registry).inc(3)

    def exposition() -> tuple[bytes, str]:
        return generate_latest(registry), CONTENT_TYPE_LATEST

    async with (
        control(tmp_path, metrics=exposition, token=TOKEN) as c,
        c.client.get("/metrics") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
        assert "paperfund_test_requests_total 3.0" in await response.text()


async def test_a_failing_handler_answers_500_without_details(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> tuple[bytes, str]:
        raise RuntimeError("secret internals")

    async with control(tmp_path, metrics=broken) as c:
        async with c.client.get("/metrics") as response:
            assert response.status == 500
            text = await response.text()
        assert json.loads(text) == {"error": "internal error"}
        assert "secret" not in text and "Traceback" not in text
        assert await c.get("/healthz") == (200, {"status": "ok"})
    failures = [r for r in caplog.records if r.name == "daemon.control.http"]
    assert [r.getMessage() for r in failures] == ["control request GET /metrics failed"]
    assert failures[0].exc_info is not None  # the details go to the log instead


async def test_serve_binds_a_free_port_logs_access_when_asked_and_closes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    async with control(tmp_path) as c:
        assert (await c.get("/healthz"))[0] == 200  # no access log by default
        app = build_app(c.service, c.health)
        server = await serve(app, "127.0.0.1", 0, access_log=True)
        try:
            assert server.port not in (0, c.server.port)
            assert server.url == f"http://127.0.0.1:{server.port}"
            assert (await c.get(f"{server.url}/readyz"))[0] == 200
        finally:
            await server.close()  # waits for the request, and so its access line
        with pytest.raises(aiohttp.ClientConnectorError):
            async with c.client.get(f"{server.url}/healthz"):
                pass
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(lines) == 1 and "GET /readyz" in lines[0], lines
