"""The wire format a client of the control plane needs, and nothing heavier: stream names,
command signatures, reply entries. `paperfund ctl` imports only this (and redis when it
uses the Redis channel), so it starts without loading the fund's numerics."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


def command_stream(fund: str) -> str:
    return f"paperfund:{fund}:commands"


def reply_stream(fund: str) -> str:
    return f"paperfund:{fund}:replies"


def sign(key: bytes, payload: bytes) -> str:
    """The signature of a command: hex HMAC-SHA256 of its exact bytes."""
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def reply_from_fields(fields: Mapping[str, str]) -> dict[str, Any]:
    """A reply stream entry read back (`redis_channel.reply_fields` inverted): numbers, flags
    and data decoded, plus the command's `entry` id."""
    reply: dict[str, Any] = dict(fields)
    reply["command_id"] = fields.get("command_id") or None
    reply["slice_index"] = int(fields["slice_index"]) if fields.get("slice_index") else None
    reply["duplicate"] = fields.get("duplicate") == "true"
    if "data" in fields:
        reply["data"] = json.loads(fields["data"])
    return reply


def stream_entries(reply: Any) -> list[tuple[str, Mapping[str, str]]]:
    """(id, fields) of an XREAD or XREADGROUP reply of a client that decodes responses
    (RESP2 list or RESP3 map, one stream)."""
    per_stream = reply.values() if isinstance(reply, Mapping) else (s for _, s in reply or ())
    return [(entry_id, fields or {}) for entries in per_stream for entry_id, fields in entries]
