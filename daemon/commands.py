"""The control command model: what operators ask a running fund to do.

Every command carries a client-chosen `command_id` (used to de-duplicate) and is applied
between slices, never inside one. Unknown types, missing or extra fields and wrong types are
rejected by validation with a message naming the field; a valid command can still be
rejected when applied (unknown strategy, invalid transition, weights above 100 %), and
then it changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from daemon.errors import CommandRejected

CommandId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
StrategyId = Annotated[str, Field(min_length=1, max_length=128)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    command_id: CommandId


class Pause(_Command):
    type: Literal["pause"]
    strategy_id: StrategyId
    reason: str = Field(default="paused by operator", max_length=500)


class Resume(_Command):
    type: Literal["resume"]
    strategy_id: StrategyId


class Add(_Command):
    type: Literal["add"]
    strategy_id: StrategyId
    catalog: StrategyId = Field(description="name of a strategy in the configured catalog")
    allocation: Decimal = Field(ge=0, le=1)


class Remove(_Command):
    type: Literal["remove"]
    strategy_id: StrategyId
    liquidate: bool = True


class Rebalance(_Command):
    type: Literal["rebalance"]
    weights: dict[StrategyId, Annotated[Decimal, Field(ge=0, le=1)]] | None = None
    algorithm: Literal["configured"] | None = None
    reason: str = Field(default="Manual rebalancing", max_length=500)

    def model_post_init(self, context: Any, /) -> None:
        if (self.weights is None) == (self.algorithm is None):
            raise ValueError("give exactly one of weights or algorithm: configured")


class Snapshot(_Command):
    type: Literal["snapshot"]


class Status(_Command):
    type: Literal["status"]


Command = Annotated[
    Pause | Resume | Add | Remove | Rebalance | Snapshot | Status,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)


def parse_command(data: bytes | str | dict[str, Any]) -> Command:
    """Validate a command from JSON text or a mapping; raise `CommandRejected` naming why."""
    try:
        if isinstance(data, dict):
            return _ADAPTER.validate_python(data)
        return _ADAPTER.validate_json(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'command'}: {err['msg']}"
            for err in exc.errors()
        )
        raise CommandRejected(problems) from None


def encode_command(command: Command) -> bytes:
    return command.model_dump_json().encode()
