"""The schemas of the OpenAPI document of the HTTP control plane (`daemon.control.openapi`).

The command schemas are generated from the pydantic command models and the reply schema
from `Reply`, so the document changes with them; the views' schemas are written here and
the tests compare them with what the views return, key by key. View schemas are named
apart from the command models (a rebalancing is `RebalanceRecord`, the command `Rebalance`).
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from core.records import RebalanceTrigger
from daemon.commands import Command
from daemon.control.service import Reply

REF = "#/components/schemas/{model}"

Schema = dict[str, Any]


def ref(name: str) -> Schema:
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


DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
"""An exact decimal in positional notation, never an exponent (`core.money.decimal_string`)."""
DECIMAL: Schema = {
    "type": "string",
    "pattern": DECIMAL_PATTERN,
    "description": 'an exact decimal, never with an exponent, e.g. "1000000.00" or "0.0000000000"',
}
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
                "return": {
                    **DECIMAL,
                    "description": "(value - initial_capital) / initial_capital, a decimal"
                    ' fraction ("0.05" is 5 %). Money only moves between the reserve and the'
                    " strategies, never into or out of the fund, so this is also the fund's"
                    " time-weighted return: the headline return.",
                },
                "strategies": integer,
                "strategy_states": {"type": "object", "additionalProperties": integer},
                "rebalances": integer,
                "recovering": {"type": "boolean"},
                "snapshot_error": {
                    "type": ["string", "null"],
                    "description": "Why the last snapshot due was not written (a strategy"
                    " whose state cannot be saved, named), or null. The journal keeps"
                    " everything meanwhile; a restart replays more of it.",
                },
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
                "return": {
                    **DECIMAL,
                    "description": "time-weighted return over its whole life in the fund,"
                    ' transfers excluded (a decimal fraction, "0.05" is 5 %): the headline'
                    " return",
                },
                "return_on_capital": {
                    "type": ["string", "null"],
                    "pattern": DECIMAL_PATTERN,
                    "description": "(value - allocated_capital) / allocated_capital, exact;"
                    " null when the net capital put in is <= 0 (more was withdrawn than put"
                    " in), where the ratio means nothing",
                },
                "errors": {
                    "type": "integer",
                    "description": "Errors of its steps: exceptions of its code, slices its "
                    "fills or marks cannot be computed with (the ledger is left as it was), "
                    "and worker faults. After deadlines.max_consecutive_errors in a row it is "
                    "quarantined (paused).",
                },
                "consecutive_errors": integer,
                "last_error": nullable,
                "metrics": {
                    "type": "object",
                    "description": "performance statistics as display strings (percentages"
                    " to 2 places, money to cents). sharpe_ratio, mean_return, volatility"
                    " (annualised), win_rate, profit_factor, winning_periods and"
                    " losing_periods cover only the last `metrics_window` returns;"
                    " max_drawdown, current_drawdown, peak_value and num_observations cover"
                    " the whole run, as `return` does",
                },
                "metrics_window": {
                    "type": "integer",
                    "description": "how many of the latest returns the windowed statistics in"
                    " `metrics` (sharpe_ratio...) cover: the fund's lookback_window; fewer"
                    " while the strategy has fewer returns",
                },
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
                "transfers": {
                    **DECIMALS,
                    "description": "cash moved, by strategy (positive into the strategy)",
                },
                "skipped": {
                    **DECIMALS,
                    "description": "transfers not made because they were smaller than the"
                    " rebalancer's min_transfer_pct of the fund's value (same signs): those"
                    " strategies kept their capital, the reserve the difference",
                },
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
        "Route": _object(
            {
                "method": {"type": "string", "examples": ["GET"]},
                "path": {"type": "string", "examples": ["/v1/status"]},
                "description": string,
            },
            "One route the control plane serves.",
        ),
        "Routes": {"type": "array", "items": ref("Route"), "description": "Every route."},
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
            "reply": ref("Reply"),
            "accepted": {"anyOf": [ref("Reply"), {"type": "null"}]},
        },
        "The final reply (applied or rejected) and the `accepted` reply sent once the command"
        " or its outcome was on disk (null when it was refused before: invalid, unsigned,"
        " its command id used by a different command, or the queue full).",
    )
    schemas["CommandReplies"] = _object(
        {"command_id": {"type": "string"}, "replies": {"type": "array", "items": ref("Reply")}},
        "A remembered command's replies: `accepted`, then its first outcome.",
    )
    return schemas


def component_schemas() -> dict[str, Schema]:
    """Every schema the document's `components` hold, by name."""
    return {**_command_schemas(), **_view_schemas(), **_health_and_error_schemas()}
