"""The OpenAPI 3.1 document of the HTTP control plane, served at `/openapi.json`.

The command schemas are generated from the pydantic command models and the reply schema
from `Reply`, so the document changes with them; the views' schemas are written here and
the tests compare them with what the views return, key by key. View schemas are named
apart from the command models (a rebalancing is `RebalanceRecord`, the command `Rebalance`).
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from daemon.commands import Command
from daemon.control.service import MAX_COMMAND_BYTES, Reply
from daemon.feeds.validation import REJECT_REASONS

OPENAPI_VERSION = "3.1.0"
SIGNATURE_HEADER = "X-Paperfund-Signature"
REF = "#/components/schemas/{model}"

Schema = dict[str, Any]

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


def _ref(name: str) -> Schema:
    return {"$ref": REF.format(model=name)}


def _object(properties: dict[str, Schema], description: str = "") -> Schema:
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


DECIMAL: Schema = {"type": "string", "description": 'an exact decimal, e.g. "1000000.00"'}
TIMESTAMP: Schema = {"type": ["string", "null"], "description": "ISO 8601, or null"}
DECIMALS: Schema = {"type": "object", "additionalProperties": DECIMAL}


def _view_schemas() -> dict[str, Schema]:
    string, integer = {"type": "string"}, {"type": "integer"}
    nullable = {"type": ["string", "null"]}
    return {
        "FundStatus": _object(
            {
                "fund": string,
                "slice_index": integer,
                "last_slice_ts": TIMESTAMP,
                "value": DECIMAL,
                "reserve": DECIMAL,
                "initial_capital": DECIMAL,
                "return": DECIMAL,
                "strategies": integer,
                "strategy_states": {"type": "object", "additionalProperties": integer},
                "rebalances": integer,
                "recovering": {"type": "boolean"},
            },
            "The fund as a whole.",
        ),
        "Strategy": _object(
            {
                "strategy_id": string,
                "catalog": nullable,
                "state": string,
                "pause_reason": nullable,
                "value": DECIMAL,
                "cash": DECIMAL,
                "allocated_capital": DECIMAL,
                "target_weight": DECIMAL,
                "current_weight": DECIMAL,
                "return": DECIMAL,
                "errors": {
                    "type": "integer",
                    "description": "Errors of its steps: exceptions of its code, slices its "
                    "fills or marks cannot be computed with (the ledger is left as it was), "
                    "and worker faults. After deadlines.max_consecutive_errors in a row it is "
                    "quarantined (paused).",
                },
                "consecutive_errors": integer,
                "last_error": nullable,
                "metrics": {"type": "object", "description": "performance statistics"},
            },
            "One strategy of the fund.",
        ),
        "RebalanceRecord": _object(
            {
                "ts": TIMESTAMP,
                "reason": string,
                "weights_before": DECIMALS,
                "weights_after": DECIMALS,
                "targets": DECIMALS,
                "transfers": DECIMALS,
                "costs": DECIMAL,
                "fund_value_before": DECIMAL,
                "fund_value_after": DECIMAL,
            },
            "One rebalancing of the fund.",
        ),
    }


def _health_and_error_schemas() -> dict[str, Schema]:
    string = {"type": "string"}
    return {
        "Readiness": _object(
            {
                "ready": {"type": "boolean"},
                "checks": {
                    "type": "object",
                    "additionalProperties": _object({"ok": {"type": "boolean"}, "detail": string}),
                },
            },
            "Each readiness check by name; ready when all are ok.",
        ),
        "Liveness": _object({"status": {"const": "ok"}}),
        "Error": _object({"error": string}, "Why the request was refused."),
    }


def _command_schemas() -> dict[str, Schema]:
    command = TypeAdapter(Command).json_schema(ref_template=REF)
    schemas: dict[str, Schema] = command.pop("$defs")
    command["description"] = (
        "One control command; `command_id` is chosen by the client and de-duplicates."
    )
    schemas["Command"] = command
    reply = TypeAdapter(Reply).json_schema(mode="serialization", ref_template=REF)
    reply["properties"]["status"]["enum"] = ["accepted", "applied", "rejected"]
    reply["required"] = sorted(reply["properties"])  # `Reply.to_dict` always has every field
    reply["properties"]["data"]["description"] = "a status command's reply: the FundStatus"
    schemas["Reply"] = reply
    schemas["CommandResult"] = _object(
        {
            "reply": _ref("Reply"),
            "accepted": {"anyOf": [_ref("Reply"), {"type": "null"}]},
        },
        "The final reply (applied or rejected) and the `accepted` reply sent when the command"
        " was journaled (null when it was refused before, or needs no journaling).",
    )
    schemas["CommandReplies"] = _object(
        {"command_id": {"type": "string"}, "replies": {"type": "array", "items": _ref("Reply")}},
        "Every reply kept for one command id, in order.",
    )
    return schemas


def _json(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


UNAUTHORIZED = _error("missing or wrong bearer token (when the daemon has one)")
NOT_STARTED = _error("the fund has not started yet")


def _get(summary: str, schema: Schema, **errors: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary,
        "responses": {"200": _json(schema, "OK"), **errors},
    }


def _secured(operation: dict[str, Any]) -> dict[str, Any]:
    operation["security"] = [{"bearer": []}]
    operation["responses"]["401"] = UNAUTHORIZED
    return operation


def _path_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _post_command() -> dict[str, Any]:
    examples = {
        kind: {"summary": f"a {kind} command", "value": value}
        for kind, value in COMMAND_EXAMPLES.items()
    }
    return {
        "summary": "Send one command and wait for its outcome",
        "parameters": [
            {
                "name": SIGNATURE_HEADER,
                "in": "header",
                "required": False,
                "description": "hex HMAC-SHA256 of the exact body bytes; required when the"
                " daemon has a signing key",
                "schema": {"type": "string", "pattern": "^[0-9A-Fa-f]{64}$"},
            }
        ],
        "requestBody": {
            "required": True,
            "description": f"at most {MAX_COMMAND_BYTES} bytes",
            "content": {"application/json": {"schema": _ref("Command"), "examples": examples}},
        },
        "responses": {
            "200": _json(_ref("CommandResult"), "applied"),
            "413": _error(f"the body is larger than {MAX_COMMAND_BYTES} bytes"),
            "415": _error("the content type is not application/json"),
            "422": _json(
                _ref("CommandResult"),
                "rejected: invalid, unsigned or wrongly signed, or cannot apply; the reply's"
                " `detail` says why and the fund is unchanged",
            ),
            "503": NOT_STARTED,
        },
    }


def _paths() -> dict[str, Any]:
    strategy_id = _path_parameter("strategy_id", "the strategy's id")
    command_id = _path_parameter("command_id", "the command's id")
    limit = {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "only the newest `limit` rebalancings",
        "schema": {"type": "integer", "minimum": 1},
    }
    strategy = _get("One strategy", _ref("Strategy"), **{"404": _error("no such strategy")})
    strategy["parameters"] = [strategy_id]
    replies = _get(
        "The replies kept for one command",
        _ref("CommandReplies"),
        **{"404": _error("no replies kept for this command id")},
    )
    replies["parameters"] = [command_id]
    rebalances = _get(
        "The fund's rebalancings, oldest first",
        {"type": "array", "items": _ref("RebalanceRecord")},
        **{"400": _error("`limit` is not a positive integer"), "503": NOT_STARTED},
    )
    rebalances["parameters"] = [limit]
    many = {"type": "array", "items": _ref("Strategy")}
    ready = _get("Readiness", _ref("Readiness"), **{"503": _json(_ref("Readiness"), "not ready")})
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
        "/v1/commands": {"post": _secured(_post_command())},
        "/v1/commands/{command_id}": {"get": _secured(replies)},
        "/v1/status": {
            "get": _secured(_get("The fund", _ref("FundStatus"), **{"503": NOT_STARTED}))
        },
        "/v1/strategies": {"get": _secured(_get("Every strategy", many, **{"503": NOT_STARTED}))},
        "/v1/strategies/{strategy_id}": {"get": _secured(strategy)},
        "/v1/rebalances": {"get": _secured(rebalances)},
        "/healthz": {"get": _get("Liveness: the event loop answers", _ref("Liveness"))},
        "/readyz": {"get": ready},
        "/metrics": {"get": metrics},
        "/openapi.json": {"get": _get("This document", {"type": "object"})},
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route `daemon.control.http.build_app` serves."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "paperfund control plane",
            "version": "1",
            "description": (
                "Commands and views of one running paperfund fund. Money and weights are exact"
                ' decimal strings. Every error is JSON: {"error": "..."}. The /v1 routes'
                " need `Authorization: Bearer <token>` when the daemon has a token; the"
                " health, metrics and document routes never do."
            ),
        },
        "paths": _paths(),
        "components": {
            "schemas": {**_command_schemas(), **_view_schemas(), **_health_and_error_schemas()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
