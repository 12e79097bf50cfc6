"""`ShardBackend`: what `daemon.shards.Shard` drives, whichever way a shard runs.

Two backends have this face: `workers.shard_process.ShardProcess` (a child process of the
daemon, `workers.backend: local`) and `workers.shard_ray.ShardActor` (a Ray actor,
`workers.backend: ray`). A `MakeShard` builds one from its name and options.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from workers.shard_process import ShardOptions


class ShardBackend(Protocol):
    """One shard's host, started, called, killed and closed by its `Shard`."""

    announces: bool
    """Whether `announced` names the member that was stepping when the shard died; when
    not, the `Shard` finds it by stepping the slice one member per request."""
    announced: int
    """The member index announced at the last death (`IDLE`: none)."""

    @property
    def alive(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...

    async def start(self) -> None: ...

    async def request(self, op: str, args: tuple[Any, ...], timeout_s: float) -> Any: ...

    async def kill(self) -> None: ...

    async def close(self) -> None: ...


MakeShard = Callable[[str, ShardOptions], ShardBackend]
"""(shard name, options) -> a shard backend, not started."""
