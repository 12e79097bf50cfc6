"""`CommandService`: what every transport calls with a command's raw bytes.

It checks the size, the signature (HMAC-SHA256 of the exact bytes, hex, when a signing key
is configured) and the model, hands the command to the supervisor's entry point and
reports, through `on_reply`, the same reply sequence for every transport:

- a valid command gets `accepted` (it, or its outcome, is journaled and on disk; with the
  slice index at which it applies) and then `applied` or `rejected` with the reason;
- a command id seen before with the same body gets the same two replies again, from the
  first outcome, with `duplicate` set; nothing runs again;
- anything refused before that (too large, unsigned or badly signed, invalid, the command id
  already used by a different command, the queue full) gets only `rejected`, and the fund is
  unchanged.

`GET /v1/commands/{id}` answers from the outcomes the supervisor remembers
(`daemon.outcomes`), across restarts; counters by type and outcome feed the metrics.
"""

from __future__ import annotations

import hmac
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from daemon import logs
from daemon.commands import Command, Status, parse_command
from daemon.control.views import fund_status
from daemon.control.wire import sign
from daemon.errors import CommandRejected
from daemon.outcomes import Outcome
from daemon.shard_statistics import refresh_for_reading
from daemon.supervisor import Supervisor

_log = logs.get("paperfund.commands")

MAX_COMMAND_BYTES = 64 * 1024
UNKNOWN_TYPE = "unknown"


@dataclass(frozen=True)
class Reply:
    """One reply about one command (`status`: accepted, applied or rejected)."""

    command_id: str | None
    status: str
    slice_index: int | None = None
    detail: str = ""
    duplicate: bool = False
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


OnReply = Callable[[Reply], None]


class CommandService:
    def __init__(
        self, supervisor: Supervisor, fund_name: str, *, signing_key: bytes | None = None
    ) -> None:
        self.supervisor = supervisor
        self.fund_name = fund_name
        self._key = signing_key
        self.outcomes: Counter[tuple[str, str]] = Counter()
        """(command type, final status) -> count"""
        self.signature_failures = 0

    @property
    def signing(self) -> bool:
        return self._key is not None

    def replies_of(self, command_id: str) -> list[Reply] | None:
        """The replies of a remembered command id (`accepted`, then its first outcome);
        None when it is not remembered."""
        first = self.supervisor.commands.first(command_id)
        if first is None:
            return None
        accepted = Reply(command_id, "accepted", first.slice_index)
        return [accepted, Reply(command_id, first.status, first.slice_index, first.detail)]

    async def execute(
        self,
        payload: bytes | str,
        signature: str | None = None,
        on_reply: OnReply | None = None,
    ) -> Reply:
        """Run one command from its raw bytes; returns the final reply (never raises for
        bad input: every problem is a rejection that says why)."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        try:
            self._check(data, signature)
        except CommandRejected as exc:  # unverified: its command id is not trusted either
            return self._final(Reply(None, "rejected", detail=str(exc)), None, on_reply)
        try:
            command = parse_command(data)
        except CommandRejected as exc:
            reply = Reply(_command_id_of(data), "rejected", detail=str(exc))
            return self._final(reply, None, on_reply)

        def journaled(index: int, duplicate: bool) -> None:
            self._emit(Reply(command.command_id, "accepted", index, duplicate=duplicate), on_reply)

        try:
            future = self.supervisor.submit(command, journaled)
        except CommandRejected as exc:
            reply = Reply(command.command_id, "rejected", detail=str(exc))
            return self._final(reply, command, on_reply)
        outcome = await future
        if isinstance(command, Status):
            await refresh_for_reading(self.supervisor.engine)
        return self._final(self._reply_of(command, outcome), command, on_reply)

    def _check(self, data: bytes, signature: str | None) -> None:
        if len(data) > MAX_COMMAND_BYTES:
            raise CommandRejected(f"command is {len(data)} bytes; the limit is {MAX_COMMAND_BYTES}")
        if self.signed(data, signature):
            return
        self.signature_failures += 1
        if not signature:
            raise CommandRejected("signature required: commands must be signed")
        raise CommandRejected("bad signature")

    def signed(self, data: bytes, signature: str | None) -> bool:
        """Whether `data` carries the signature the service needs (any, without a key)."""
        if self._key is None:
            return True
        if not signature:
            return False
        given = signature.strip().lower().encode("utf-8", errors="replace")
        return hmac.compare_digest(sign(self._key, data).encode(), given)

    def _reply_of(self, command: Command, outcome: Outcome) -> Reply:
        data = None
        if isinstance(command, Status) and outcome.status == "applied" and not outcome.duplicate:
            engine = self.supervisor.engine
            if engine is not None:
                sup = self.supervisor
                data = fund_status(
                    self.fund_name,
                    engine,
                    recovering=sup.recovering,
                    snapshot_error=sup.snapshot_error,
                )
        return Reply(
            outcome.command_id,
            outcome.status,
            outcome.slice_index,
            outcome.detail,
            outcome.duplicate,
            data,
        )

    def _final(self, reply: Reply, command: Command | None, on_reply: OnReply | None) -> Reply:
        kind = UNKNOWN_TYPE if command is None else command.type
        self.outcomes[(kind, reply.status)] += 1
        _log.info(
            f"command {reply.status}",
            command_id=reply.command_id,
            type=kind,
            slice_index=reply.slice_index,
            duplicate=reply.duplicate,
            detail=reply.detail[:500],
        )
        self._emit(reply, on_reply)
        return reply

    def _emit(self, reply: Reply, on_reply: OnReply | None) -> None:
        if on_reply is not None:
            on_reply(reply)


def _command_id_of(data: bytes) -> str | None:
    """The command id of a payload, when it has a plausible one (for replies to rejections)."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    value = document.get("command_id")
    if isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable():
        return value
    return None
