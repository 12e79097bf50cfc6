"""The OpenAPI 3.1 document of the HTTP control plane, served at `/openapi.json`.

This module holds the paths, their operations and responses; the schemas they refer to are
in `daemon.control.openapi_schemas`.

The served document describes the running configuration, so that off-the-shelf clients
work against it: the /v1 operations declare bearer auth (and a 401) only when the daemon has
a token, and `POST /v1/commands` its signature header (then required) only when it has a
signing key.
"""

from __future__ import annotations

from typing import Any

from daemon.control.openapi_schemas import Schema, component_schemas, ref
from daemon.control.service import MAX_COMMAND_BYTES
from daemon.feeds.validation import REJECT_REASONS

OPENAPI_VERSION = "3.1.0"
SIGNATURE_HEADER = "X-Paperfund-Signature"

COMMAND_EXAMPLES: dict[str, dict[str, Any]] = {
    "pause": {"type": "pause", "command_id": "c-1", "strategy_id": "trend", "reason": "review"},
    "resume": {"type": "resume", "command_id": "c-2", "strategy_id": "trend"},
    "add": {
        "type": "add",
        "command_id": "c-3",
        "strategy_id": "slow",
        "catalog": "slow_trend",
        "allocation": "0.05",
    },
    "remove": {"type": "remove", "command_id": "c-4", "strategy_id": "slow", "liquidate": True},
    "rebalance": {"type": "rebalance", "command_id": "c-5", "weights": {"trend": "0.2"}},
    "snapshot": {"type": "snapshot", "command_id": "c-6"},
    "status": {"type": "status", "command_id": "c-7"},
}
"""One example per command type; each parses as a command (the tests check it)."""


def _json(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(ref("Error"), description)


UNAUTHORIZED = _error("missing or wrong bearer token")
NOT_STARTED = _error("the fund has not started yet")


def _get(summary: str, schema: Schema, **errors: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary,
        "responses": {"200": _json(schema, "OK"), **errors},
    }


def _head(summary: str, **errors: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "responses": {"200": {"description": "OK"}, **errors}}


def _secure(paths: dict[str, Any]) -> None:
    """Bearer auth on every /v1 operation."""
    for path, item in paths.items():
        if path.startswith("/v1/"):
            for operation in item.values():
                operation["security"] = [{"bearer": []}]
                operation["responses"]["401"] = UNAUTHORIZED


def _path_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _post_command(signing: bool) -> dict[str, Any]:
    examples = {
        kind: {"summary": f"a {kind} command", "value": value}
        for kind, value in COMMAND_EXAMPLES.items()
    }
    signature = {
        "name": SIGNATURE_HEADER,
        "in": "header",
        "required": True,
        "description": "hex HMAC-SHA256 of the exact body bytes, with the daemon's signing key",
        "schema": {"type": "string", "pattern": "^[0-9A-Fa-f]{64}$"},
    }
    signature_refused = {
        "403": _json(
            ref("CommandResult"),
            "rejected: the signature is missing or wrong; the fund is unchanged",
        )
    }
    return {
        "summary": "Send one command and wait for its outcome",
        "parameters": [signature] if signing else [],
        "requestBody": {
            "required": True,
            "description": f"at most {MAX_COMMAND_BYTES} bytes",
            "content": {"application/json": {"schema": ref("Command"), "examples": examples}},
        },
        "responses": {
            "200": _json(ref("CommandResult"), "applied"),
            "413": _error(f"the body is larger than {MAX_COMMAND_BYTES} bytes"),
            "415": _error("the content type is not application/json"),
            **(signature_refused if signing else {}),
            "409": _json(
                ref("CommandResult"),
                "rejected: a valid command the fund refuses in its current state (an unknown"
                " strategy or catalog entry, weights over 100 %, a command id already used by a"
                " different command, the rejected first outcome of a repeated command...); the"
                " reply's `detail` says why and the fund is unchanged",
            ),
            "422": _json(
                ref("CommandResult"),
                "rejected: not a valid command; the reply's `detail` says why and the fund is"
                " unchanged",
            ),
            "503": NOT_STARTED,
        },
    }


READINESS = "Readiness: recovered, journal open, a recent slice, Redis connected (503 if not)"
MALFORMED = "a malformed or oversized request line or header, refused by the HTTP server itself"


def _malformed(paths: dict[str, Any]) -> None:
    """Every operation may meet the HTTP server's own 400 (text/plain), before any route."""
    for item in paths.values():
        for operation in item.values():
            responses = operation["responses"]
            refused = responses.setdefault("400", {"description": MALFORMED, "content": {}})
            if refused["description"] != MALFORMED:
                refused["description"] += f"; or {MALFORMED}"
            refused["content"]["text/plain"] = {"schema": {"type": "string"}}


def _paths(signing: bool) -> dict[str, Any]:
    strategy_id = _path_parameter("strategy_id", "the strategy's id")
    command_id = _path_parameter("command_id", "the command's id")
    limit = {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "only the newest `limit` rebalancings",
        "schema": {"type": "integer", "minimum": 1},
    }
    strategy = _get(
        "One strategy: its value, return, weight and state",
        ref("Strategy"),
        **{"404": _error("no such strategy")},
    )
    strategy["parameters"] = [strategy_id]
    replies = _get(
        "A remembered command's replies (kept across restarts)",
        ref("CommandReplies"),
        **{"404": _error("this command id is not remembered")},
    )
    replies["parameters"] = [command_id]
    rebalances = _get(
        "The fund's rebalancings, oldest first",
        {"type": "array", "items": ref("RebalanceRecord")},
        **{"400": _error("`limit` is not a positive integer"), "503": NOT_STARTED},
    )
    rebalances["parameters"] = [limit]
    many = {"type": "array", "items": ref("Strategy")}
    return {
        "/": {"get": _get("Every route, with what it does", ref("Routes"))},
        "/v1/commands": {"post": _post_command(signing)},
        "/v1/commands/{command_id}": {"get": replies},
        "/v1/status": {
            "get": _get(
                "The fund: value, return, reserve, strategies",
                ref("FundStatus"),
                **{"503": NOT_STARTED},
            )
        },
        "/v1/strategies": {
            "get": _get(
                "Every strategy: value, return, weight, state", many, **{"503": NOT_STARTED}
            )
        },
        "/v1/strategies/{strategy_id}": {"get": strategy},
        "/v1/rebalances": {"get": rebalances},
        **_probe_paths(),
    }


def _probe_paths() -> dict[str, Any]:
    """The routes that need no token: health, metrics and this document."""
    ready = _get(READINESS, ref("Readiness"), **{"503": _json(ref("Readiness"), "not ready")})
    metrics = {
        "summary": "Prometheus metrics",
        "description": "paperfund_feed_bars_rejected_total counts the bars the feed rejected, "
        "by reason: " + ", ".join(f"`{reason}`" for reason in REJECT_REASONS) + ".",
        "responses": {
            "200": {
                "description": "the Prometheus text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            "404": _error("metrics are not enabled"),
        },
    }
    return {
        "/healthz": {
            "get": _get("Liveness: the event loop answers", ref("Liveness")),
            "head": _head("Liveness, without a body (for probes and load balancers)"),
        },
        "/readyz": {
            "get": ready,
            "head": _head(f"{READINESS}, without a body", **{"503": {"description": "not ready"}}),
        },
        "/metrics": {"get": metrics},
        "/openapi.json": {"get": _get("This OpenAPI 3.1 document", {"type": "object"})},
    }


def _description(token: bool, signing: bool) -> str:
    text = (
        "Commands and views of one running paperfund fund. Money and weights are exact"
        ' decimal strings. Every error is JSON: {"error": "..."}.'
    )
    if token:
        text += (
            " The /v1 routes need `Authorization: Bearer <token>`; the health, metrics and"
            " document routes do not."
        )
    if signing:
        text += f" Every command needs its `{SIGNATURE_HEADER}` header."
    return text


def openapi_document(*, token: bool = False, signing: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route `daemon.control.http.build_app` serves, for a
    daemon with a bearer token (`token`) and a signing key (`signing`) or without."""
    paths = _paths(signing)
    _malformed(paths)
    components: dict[str, Any] = {"schemas": component_schemas()}
    if token:
        _secure(paths)
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "paperfund control plane",
            "version": "1",
            "description": _description(token, signing),
        },
        "paths": paths,
        "components": components,
    }
