"""What became of each command id: the one place that remembers command outcomes.

Every command that passed validation is remembered with its first outcome, whatever it was
(applied, or rejected when applied, or rejected before journaling such as an `add` whose code
does not load; `status` and `snapshot` too), keyed by its `command_id` together with the
digest of its canonical body. A command id seen again answers from here:

- the same command (equal canonical body): its first outcome, marked `duplicate`; nothing
  runs again;
- another command under the same id: rejected as a conflict; nothing changes and the first
  outcome stays remembered.

The canonical body is the validated command encoded as JSON (`encode_command`): key order,
whitespace and omitted defaults do not matter, values are compared as validated (the decimal
`"0.05"` and the number `0.05` are the same; `"0.050"` is not `"0.05"`).

The memory survives restarts: it is part of every snapshot, journaled commands add to it when
replayed, and outcomes decided without journaling the command are journaled as records of
their own (`outcome_record`), which replay only remembers. Retention is bounded: the newest
`COMMAND_IDS_KEPT` command ids are kept; an id older than that is forgotten, and the same
command sent again after that is a new command.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from daemon.commands import Command, encode_command
from daemon.errors import RecoveryError

COMMAND_IDS_KEPT = 10_000
OUTCOME_RECORD = "outcome"
"""Journal record kind of an outcome decided without journaling its command."""

_RECORD_VERSION = 1


@dataclass(frozen=True)
class Outcome:
    """What became of a command. `duplicate`: its id was seen before with the same body;
    this is the first command's outcome."""

    command_id: str
    status: str  # "applied" | "rejected"
    slice_index: int
    detail: str = ""
    duplicate: bool = False


@dataclass(frozen=True)
class Remembered:
    """One remembered command id: the digest of its canonical body (None for ids carried
    over from snapshots that did not keep one) and its first outcome."""

    digest: str | None
    outcome: Outcome


def body_digest(command: Command) -> str:
    """Hex SHA-256 of the command's canonical JSON body."""
    return hashlib.sha256(encode_command(command)).hexdigest()


class CommandMemory:
    """The newest `kept` command ids with their first outcomes, oldest first."""

    def __init__(self, kept: int = COMMAND_IDS_KEPT) -> None:
        if kept < 1:
            raise ValueError("kept must be >= 1")
        self.kept = kept
        self._ids: OrderedDict[str, Remembered] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def first(self, command_id: str) -> Outcome | None:
        """The first outcome of `command_id`, when it is remembered."""
        known = self._ids.get(command_id)
        return None if known is None else known.outcome

    def recall(self, command: Command, slice_index: int) -> Outcome | None:
        """The answer to a command whose id is remembered: its first outcome as a duplicate,
        or a conflict rejection (another body). None: the id is new."""
        known = self._ids.get(command.command_id)
        if known is None:
            return None
        if known.digest is None or known.digest == body_digest(command):
            return replace(known.outcome, duplicate=True)
        return Outcome(
            command.command_id,
            "rejected",
            slice_index,
            f"conflict: command_id {command.command_id!r} was already used by a different "
            f"command (first outcome: {known.outcome.status}); use a new command_id",
        )

    def remember(self, command: Command, outcome: Outcome) -> None:
        self._keep(command.command_id, Remembered(body_digest(command), outcome))

    def _keep(self, command_id: str, remembered: Remembered) -> None:
        if command_id in self._ids:
            return  # the first outcome stays
        self._ids[command_id] = remembered
        while len(self._ids) > self.kept:
            self._ids.popitem(last=False)

    # ---- persistence -----------------------------------------------------------------
    def state(self) -> list[tuple[str, str | None, Outcome]]:
        """What a snapshot keeps (oldest first); `restore` reads it back."""
        return [(cid, r.digest, r.outcome) for cid, r in self._ids.items()]

    def restore(self, state: Iterable[tuple[str, str | None, Outcome]]) -> None:
        self._ids.clear()
        for command_id, digest, outcome in state:
            self._keep(command_id, Remembered(digest, outcome))

    def restore_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        """Snapshots written before bodies were remembered kept outcomes only: a repeat of
        such an id answers its first outcome whatever its body."""
        self.restore((o.command_id, None, o) for o in outcomes)

    def outcome_record(self, command: Command, outcome: Outcome) -> bytes:
        """The journal payload remembering `outcome` (of a command that is not journaled)."""
        document = {
            "v": _RECORD_VERSION,
            "command_id": outcome.command_id,
            "digest": body_digest(command),
            "status": outcome.status,
            "slice_index": outcome.slice_index,
            "detail": outcome.detail,
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    def replay_record(self, payload: bytes) -> None:
        """Recovery: remember the outcome an `outcome_record` holds."""
        try:
            document = json.loads(payload)
            if document["v"] != _RECORD_VERSION:
                raise ValueError(f"unsupported version {document['v']!r}")
            outcome = Outcome(
                str(document["command_id"]),
                str(document["status"]),
                int(document["slice_index"]),
                str(document["detail"]),
            )
            digest = str(document["digest"])
        except (ValueError, KeyError, TypeError) as exc:
            raise RecoveryError(f"unreadable command outcome record: {exc!r}") from None
        self._keep(outcome.command_id, Remembered(digest, outcome))
