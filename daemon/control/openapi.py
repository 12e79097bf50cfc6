"""The OpenAPI 3.1 document of the HTTP control plane, served at `/openapi.json`.

The command schemas are generated from the pydantic command models and the reply schema
from `Reply`, so the document changes with them; the views' schemas are written here and
the tests compare them with what the views return, key by key. View schemas are named
apart from the command models (a rebalancing is `RebalanceRecord`, the command `Rebalance`).

The served document describes the running configuration, so that off-the-shelf clients
work against it: the /v1 operations declare bearer auth (and a 401) only when the daemon has
a token, and `POST /v1/commands` its signature header (then required) only when it has a
signing key.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from core.records import RebalanceTrigger
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
                "trigger": {
                    "enum": [trigger.value for trigger in RebalanceTrigger],
                    "description": "what started it (the `trigger` label of"
                    " paperfund_rebalances_total)",
                },
                "reason": {"type": "string", "description": "why, in words (free text)"},
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


_ONE_OF_WEIGHTS_OR_ALGORITHM = [
    {
        "required": ["weights"],
        "properties": {"weights": {"type": "object"}, "algorithm": {"type": "null"}},
    },
    {
        "required": ["algorithm"],
        "properties": {"algorithm": {"const": "configured"}, "weights": {"type": "null"}},
    },
]
"""A rebalance gives exactly one of `weights` and `algorithm` (a check the command model
makes after its fields, so its generated schema does not say it)."""


FRACTION_PATTERN = r"^(0*[01]\.?|0*1\.0+|0*\.[0-9]+)$"
"""A fraction from 0 to 1 written as a decimal string ("0.25", "1", ".5")."""


def _fraction_strings(schema: Any) -> None:
    """Say which strings a fraction field takes: the command models accept a JSON number or
    a decimal string in [0, 1], but the schema generated for the string side is any string."""
    if isinstance(schema, list):
        for item in schema:
            _fraction_strings(item)
    if not isinstance(schema, dict):
        return
    kinds = schema.get("anyOf")
    if isinstance(kinds, list) and {"type": "string"} in kinds:
        number = next((k for k in kinds if k.get("type") == "number"), None)
        if number is not None and (number.get("minimum"), number.get("maximum")) == (0, 1):
            kinds[kinds.index({"type": "string"})] = {
                "type": "string",
                "pattern": FRACTION_PATTERN,
                "description": 'an exact decimal from 0 to 1, e.g. "0.25"',
            }
    for value in schema.values():
        _fraction_strings(value)


def _command_schemas() -> dict[str, Schema]:
    command = TypeAdapter(Command).json_schema(ref_template=REF)
    _fraction_strings(command)
    schemas: dict[str, Schema] = command.pop("$defs")
    command["description"] = (
        "One control command. Fields take exactly the JSON types declared here (nothing is"
        " coerced). `command_id` is chosen by the client and makes the command idempotent:"
        " the same command again (same body as a validated command in canonical JSON: key"
        " order, whitespace and omitted defaults do not matter) answers its first outcome"
        " with `duplicate` true; another command under the same id is rejected as a conflict."
        " The newest 10000 command ids are remembered, across restarts."
    )
    schemas["Command"] = command
    schemas["Rebalance"]["oneOf"] = _ONE_OF_WEIGHTS_OR_ALGORITHM
    reply = TypeAdapter(Reply).json_schema(mode="serialization", ref_template=REF)
    reply["properties"]["status"]["enum"] = ["accepted", "applied", "rejected"]
    reply["required"] = sorted(reply["properties"])  # `Reply.to_dict` always has every field
    reply["properties"]["data"]["description"] = (
        "a status command's reply: the FundStatus (null on a duplicate)"
    )
    reply["properties"]["duplicate"]["description"] = (
        "the command id was seen before with the same body: this is its first outcome"
    )
    reply["properties"]["status"]["description"] = (
        "accepted: the command (or its outcome) is on disk, with the slice index at which it"
        " applies; then applied or rejected"
    )
    schemas["Reply"] = reply
    schemas["CommandResult"] = _object(
        {
            "reply": _ref("Reply"),
            "accepted": {"anyOf": [_ref("Reply"), {"type": "null"}]},
        },
        "The final reply (applied or rejected) and the `accepted` reply sent once the command"
        " or its outcome was on disk (null when it was refused before: invalid, unsigned,"
        " its command id used by a different command, or the queue full).",
    )
    schemas["CommandReplies"] = _object(
        {"command_id": {"type": "string"}, "replies": {"type": "array", "items": _ref("Reply")}},
        "A remembered command's replies: `accepted`, then its first outcome.",
    )
    return schemas


def _json(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


UNAUTHORIZED = _error("missing or wrong bearer token")
NOT_STARTED = _error("the fund has not started yet")


def _get(summary: str, schema: Schema, **errors: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary,
        "responses": {"200": _json(schema, "OK"), **errors},
    }


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
            _ref("CommandResult"),
            "rejected: the signature is missing or wrong; the fund is unchanged",
        )
    }
    return {
        "summary": "Send one command and wait for its outcome",
        "parameters": [signature] if signing else [],
        "requestBody": {
            "required": True,
            "description": f"at most {MAX_COMMAND_BYTES} bytes",
            "content": {"application/json": {"schema": _ref("Command"), "examples": examples}},
        },
        "responses": {
            "200": _json(_ref("CommandResult"), "applied"),
            "413": _error(f"the body is larger than {MAX_COMMAND_BYTES} bytes"),
            "415": _error("the content type is not application/json"),
            **(signature_refused if signing else {}),
            "409": _json(
                _ref("CommandResult"),
                "rejected: a valid command the fund refuses in its current state (an unknown"
                " strategy or catalog entry, weights over 100 %, a command id already used by a"
                " different command, the rejected first outcome of a repeated command...); the"
                " reply's `detail` says why and the fund is unchanged",
            ),
            "422": _json(
                _ref("CommandResult"),
                "rejected: not a valid command; the reply's `detail` says why and the fund is"
                " unchanged",
            ),
            "503": NOT_STARTED,
        },
    }


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
    strategy = _get("One strategy", _ref("Strategy"), **{"404": _error("no such strategy")})
    strategy["parameters"] = [strategy_id]
    replies = _get(
        "A remembered command's replies (kept across restarts)",
        _ref("CommandReplies"),
        **{"404": _error("this command id is not remembered")},
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
        "/v1/commands": {"post": _post_command(signing)},
        "/v1/commands/{command_id}": {"get": replies},
        "/v1/status": {"get": _get("The fund", _ref("FundStatus"), **{"503": NOT_STARTED})},
        "/v1/strategies": {"get": _get("Every strategy", many, **{"503": NOT_STARTED})},
        "/v1/strategies/{strategy_id}": {"get": strategy},
        "/v1/rebalances": {"get": rebalances},
        "/healthz": {"get": _get("Liveness: the event loop answers", _ref("Liveness"))},
        "/readyz": {"get": ready},
        "/metrics": {"get": metrics},
        "/openapi.json": {"get": _get("This document", {"type": "object"})},
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
    components: dict[str, Any] = {
        "schemas": {**_command_schemas(), **_view_schemas(), **_health_and_error_schemas()}
    }
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
