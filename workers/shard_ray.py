"""`ShardActor`: a `ShardHost` in a Ray actor, with the face of a `ShardProcess`.

The actor may run on any node of a Ray cluster, so nothing is shared with it but its
messages: it cannot announce the member it is stepping where its parent could read it after
a death (`announces` is False, `announced` stays `IDLE`). A shard on Ray names its culprit
instead by stepping the slice again one member per message (`ShardHost.step_one`, driven by
`daemon.shard_search`): the message in flight when the actor dies names the member.

- **deadlines** are the parent's only: a request that overran its `timeout_s` has the actor
  killed (`ray.kill`) and raises `WorkerTimeout`. (Ray runs a synchronous actor's methods on
  its process's main thread, so an interval timer would end the process, but the parent
  could not tell that death from a crash: the parent's clock is the one that tells.)
- **the memory limit** (`memory_limit_mb`, optional; `workers.shard_memory`): after each
  member's step the actor reads its resident set size and, past the limit, stops the slice
  with an error reply; the parent kills the actor and raises `WorkerMemoryExceeded`. An
  actor past its limit before any member is in it fails its start (`MemoryLimitTooLow`).
- **deaths**: a `RayActorError` raises `WorkerLost` when the actor was killed from outside
  (`ray.kill` by someone else) or its node was lost or preempted, else `WorkerCrashed` (its
  process exited or was killed by a signal: Ray does not tell which).

Ray is imported when the first actor starts (`workers.ray_actor.ray_api`), never before.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from workers.errors import (
    WorkerCrashed,
    WorkerError,
    WorkerLost,
    WorkerMemoryExceeded,
    WorkerTimeout,
)
from workers.host import unwrap
from workers.ray_actor import start_actor
from workers.shard_heap import SettlingShard
from workers.shard_host import IDLE, ShardHost
from workers.shard_memory import MemoryLimit
from workers.shard_process import ShardOptions

_KILLED_BY_RAY_KILL = "killed by `ray.kill`"
_NODE_LOST = ("node has died", "node died", "node was terminated")
"""How Ray's `ActorDiedError` says why an actor died (it has no structured cause in the
Python API): the phrases of an external kill and of a lost node."""


class RayWatch:
    """The actor's `Watch`: only the memory check (see the module docstring)."""

    def __init__(self, memory_limit_mb: int | None) -> None:
        self._memory = MemoryLimit(memory_limit_mb)
        self._index = IDLE

    def stepping(self, index: int, replay: bool) -> None:
        self._index = index

    def stepped(self) -> None:
        memory = self._memory
        if memory.limit_mb is None:
            return
        resident_mb = memory.passed()
        if resident_mb is not None:
            raise WorkerMemoryExceeded(
                f"resident memory {resident_mb} MiB passed the limit of {memory.limit_mb} MiB "
                f"after member {self._index}"
            )

    def idle(self) -> None:
        self._index = IDLE

    def unusable(self, members: int) -> str | None:
        return self._memory.unusable(members)


def build_shard_host(memory_limit_mb: int | None) -> SettlingShard:
    """What a shard actor hosts (built in the actor's process)."""
    return SettlingShard(ShardHost(RayWatch(memory_limit_mb)))


@dataclass(frozen=True)
class RayShards:
    """Makes `ShardActor`s on a connected Ray: the shard backend `ray` of a `ShardPool`."""

    ray: Any
    """The `ray` module, connected (`ray.init`)."""
    num_cpus: float = 1.0
    """What each shard actor reserves on its node."""

    def __call__(self, name: str, options: ShardOptions) -> ShardActor:
        return ShardActor(name, options, self.ray, num_cpus=self.num_cpus)


class ShardActor:
    """One shard actor: start, request, kill, close (the face of `ShardProcess`)."""

    announces = False
    """It cannot name the member it was stepping when it died (see the module docstring)."""

    def __init__(self, name: str, options: ShardOptions, ray: Any, *, num_cpus: float) -> None:
        self.name = name
        self.options = options
        self._ray = ray
        self._num_cpus = num_cpus
        self._actor: Any = None
        self._pid: int | None = None
        self._lock = asyncio.Lock()
        self.announced = IDLE
        """Always `IDLE`: nothing is announced."""

    @property
    def alive(self) -> bool:
        return self._actor is not None

    @property
    def pid(self) -> int | None:
        """The actor's process id (on its node), asked when it started."""
        return self._pid

    @property
    def actor(self) -> Any:
        """The running actor's handle (None when it is not running)."""
        return self._actor

    def announcing(self) -> int:
        return IDLE

    @property
    def busy(self) -> bool:
        """Whether a request is in flight (sent, not answered)."""
        return self._lock.locked()

    async def start(self) -> None:
        if self._actor is not None:
            raise WorkerError(f"shard {self.name} is already running")
        self._actor = start_actor(
            self._ray,
            build_shard_host,
            (self.options.memory_limit_mb,),
            num_cpus=self._num_cpus,
        )
        timeout_s = self.options.control_timeout_s
        try:
            self._pid = await self._await("start", self._actor.pid.remote(), timeout_s)
            await self.request("ready", (), timeout_s)
        except WorkerTimeout:  # `_await` killed it
            raise WorkerTimeout(
                f"shard {self.name}: no actor started within {timeout_s} s (does a Ray node "
                f"have {self._num_cpus:g} CPU free? workers.ray.num_cpus)"
            ) from None
        except BaseException:
            await self.kill()
            raise

    async def request(self, op: str, args: tuple[Any, ...], timeout_s: float) -> Any:
        async with self._lock:
            actor = self._actor
            if actor is None:
                raise WorkerCrashed(f"shard {self.name} is not running")
            reply = await self._await(op, actor.handle.remote((op, args)), timeout_s)
        try:
            return unwrap(reply)
        except WorkerMemoryExceeded as exc:  # the actor is past its limit: it must go
            await self.kill()
            raise WorkerMemoryExceeded(f"shard {self.name}: {exc}") from None

    async def _await(self, op: str, ref: Any, timeout_s: float) -> Any:
        """The value of `ref`; the actor is killed when it overran `timeout_s` or the wait was
        cancelled (its reply would answer the next request), forgotten when it died."""
        try:
            async with asyncio.timeout(timeout_s):
                return await ref
        except TimeoutError:
            await self.kill()
            raise WorkerTimeout(f"shard {self.name}: {op} overran {timeout_s} s; killed") from None
        except asyncio.CancelledError:
            await self.kill()
            raise
        except self._ray.exceptions.RayActorError as exc:
            self._actor = self._pid = None
            raise _death(self.name, op, exc) from None

    async def kill(self) -> None:
        """Kill the actor, if any, and forget it."""
        actor, self._actor, self._pid = self._actor, None, None
        if actor is not None:
            self._ray.kill(actor, no_restart=True)

    async def close(self) -> None:
        """End the actor (nothing in it outlives its members); idempotent."""
        await self.kill()


def _death(name: str, op: str, exc: Exception) -> WorkerError:
    """The error of an actor that died during `op` (`exc`: Ray's `RayActorError`)."""
    text = str(exc)
    cause = text.rsplit("\n", 1)[-1]
    if _KILLED_BY_RAY_KILL in text or getattr(exc, "preempted", False):
        return WorkerLost(f"shard {name} was killed from outside during {op}: {cause}")
    if any(phrase in text for phrase in _NODE_LOST):
        return WorkerLost(f"shard {name} lost its node during {op}: {cause}")
    return WorkerCrashed(f"shard {name} died during {op}: {cause[:300]}")
