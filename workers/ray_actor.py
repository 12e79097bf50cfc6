"""Hosts in Ray actors, driven by the hosts' own message protocol.

Ray is optional (`pip install 'paperfund[ray]'`): importing this module does not import it;
`ray_api()` does, and raises `RayUnavailableError` when it is not installed.

An actor runs a `MessageActor`: it builds its target in the actor's process (`build(*args)`,
with `build` a module-level function, so the caller ships an import path and plain values,
never strategy objects) and passes it every `handle(message)` call. For a `StrategyHost`
(`start_host_actor`) the replies are exactly those of a child process (`workers.host`): an
error inside the host comes back as an error reply that `unwrap` raises as the same class, so
the caller sees the same results and errors whichever process ran the host.

    ray = ray_api()
    actor = start_host_actor(ray, "trend", "workers.strategies.moving_average:"
                             "MovingAverageCrossover", {"fast": 10, "slow": 40})
    call(ray, actor, "initialize", ())
    outcome = call(ray, actor, "step", (market, True))

An actor that dies (`ray.kill`, its process killed or exited, its node lost) makes every call
raise `ray.exceptions.RayActorError`, a call in flight included; Ray never restarts it
(`max_restarts=0`), because a restarted actor would hold a new, empty target: the caller
rebuilds it from the last consistent state (`snapshot` / `restore`).
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

from core.history import DEFAULT_HISTORY_BARS
from workers.errors import RayUnavailableError
from workers.host import LedgerConfig, Message, Reply, build_host, unwrap

RAY_EXTRA = "paperfund[ray]"

ACTOR_OPTIONS: dict[str, Any] = {"max_restarts": 0, "max_task_retries": 0}
"""Ray must neither restart a dead actor (it would come back empty) nor re-run a call on one
(a step is not idempotent): both are the caller's to decide."""


CONNECT_ATTEMPTS = 3
CONNECT_BACKOFF_S = 1.0
"""The first wait between two attempts to connect; it doubles after each."""


class Handler(Protocol):
    def handle(self, message: Message) -> Reply: ...


def ray_api() -> Any:
    """The `ray` module, imported on first use."""
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise RayUnavailableError(
            f"Ray is not installed: pip install '{RAY_EXTRA}' ({exc})"
        ) from exc


def connect(
    ray: Any,
    address: str | None,
    namespace: str,
    *,
    attempts: int = CONNECT_ATTEMPTS,
    backoff_s: float = CONNECT_BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
    **options: Any,
) -> None:
    """`ray.init(address=..., namespace=..., **options)`, tried `attempts` times when the
    cluster aborts the connection (`ConnectionAbortedError`): the server a Ray Client gets on
    the head can die while it starts, a race in the head's client proxy
    (ray-project/ray#63202), so one abort is not the cluster's answer. Any other error, and
    the last abort, propagate; an unreachable address is not tried again (Ray already
    retried it)."""
    for attempt in range(1, attempts + 1):
        try:
            ray.init(address=address, namespace=namespace, **options)
            return
        except ConnectionAbortedError:
            ray.shutdown()
            if attempt == attempts:
                raise
            sleep(backoff_s * 2 ** (attempt - 1))


class MessageActor:
    """What runs inside the actor: one target, built there."""

    def __init__(self, build: Callable[..., Handler], args: tuple[Any, ...]) -> None:
        self._target = build(*args)

    def handle(self, message: Message) -> Reply:
        """One protocol message, answered by the target."""
        return self._target.handle(message)

    def pid(self) -> int:
        """The actor's process id."""
        return os.getpid()


def start_actor(
    ray: Any, build: Callable[..., Handler], args: tuple[Any, ...], *, num_cpus: float = 1
) -> Any:
    """A new actor whose target is `build(*args)`: its handle.

    A target that fails to build makes the first call raise `RayActorError` (the actor's
    constructor failed); `num_cpus` is what the actor reserves on its node."""
    actor_class = ray.remote(MessageActor)
    return actor_class.options(num_cpus=num_cpus, **ACTOR_OPTIONS).remote(build, args)


def start_host_actor(
    ray: Any,
    strategy_id: str,
    strategy_path: str,
    params: dict[str, Any] | None = None,
    ledger: LedgerConfig | None = None,
    *,
    history_bars: int = DEFAULT_HISTORY_BARS,
    num_cpus: float = 1,
) -> Any:
    """A new actor hosting the strategy in a `StrategyHost` (not initialised, no cash)."""
    args = (strategy_id, strategy_path, dict(params or {}), ledger or LedgerConfig(), history_bars)
    return start_actor(ray, build_host, args, num_cpus=num_cpus)


def call(
    ray: Any, actor: Any, op: str, args: tuple[Any, ...], timeout_s: float | None = None
) -> Any:
    """Run `op` in the actor's host and return its value (or raise its error).

    Raises `ray.exceptions.RayActorError` when the actor is dead, and
    `ray.exceptions.GetTimeoutError` when no reply came within `timeout_s`."""
    reply: Reply = ray.get(actor.handle.remote((op, args)), timeout=timeout_s)
    return unwrap(reply)
