"""A `StrategyHost` in a Ray actor, driven by the host's own message protocol.

Ray is optional (`pip install 'paperfund[ray]'`): importing this module does not import it;
`ray_api()` does, and raises `RayUnavailableError` when it is not installed.

The actor runs a `HostActor`: it builds the strategy in the actor's process from its import
path (the caller never ships strategy objects) and answers `handle((op, args))` exactly as a
child process does (`workers.host`): an error inside the host comes back as an error reply
that `unwrap` raises as the same class, so the caller sees the same results and errors
whichever process ran the host.

    ray = ray_api()
    actor = start_host_actor(ray, "trend", "workers.strategies.moving_average:"
                             "MovingAverageCrossover", {"fast": 10, "slow": 40})
    call(ray, actor, "initialize", ())
    outcome = call(ray, actor, "step", (market, True))

An actor that dies (`ray.kill`, its process killed or exited, its node lost) makes every call
raise `ray.exceptions.RayActorError`; Ray never restarts it (`max_restarts=0`), because a
restarted actor would hold a new, empty host: the caller rebuilds it from the host's last
consistent state (`snapshot` / `restore`).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from core.history import DEFAULT_HISTORY_BARS
from workers.errors import RayUnavailableError
from workers.host import LedgerConfig, Message, Reply, StrategyHost, build_host, unwrap

RAY_EXTRA = "paperfund[ray]"

ACTOR_OPTIONS: dict[str, Any] = {"max_restarts": 0, "max_task_retries": 0}
"""Ray must neither restart a dead host (it would come back empty) nor re-run a call on one
(a step is not idempotent): both are the caller's to decide."""


def ray_api() -> Any:
    """The `ray` module, imported on first use."""
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise RayUnavailableError(
            f"Ray is not installed: pip install '{RAY_EXTRA}' ({exc})"
        ) from exc


class HostActor:
    """What runs inside the actor: one `StrategyHost`, built there."""

    def __init__(
        self,
        strategy_id: str,
        strategy_path: str,
        params: dict[str, Any],
        ledger: LedgerConfig,
        history_bars: int,
    ) -> None:
        self._host: StrategyHost = build_host(
            strategy_id, strategy_path, params, ledger, history_bars
        )

    def handle(self, message: Message) -> Reply:
        """One protocol message; never raises (see `StrategyHost.handle`)."""
        return self._host.handle(message)

    def pid(self) -> int:
        """The actor's process id."""
        return os.getpid()


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
    """A new actor hosting the strategy (not initialised, no cash): its handle.

    A strategy that fails to build makes the first call raise `RayActorError` (the actor's
    constructor failed); `num_cpus` is what the actor reserves on its node."""
    actor_class = ray.remote(HostActor)
    return actor_class.options(num_cpus=num_cpus, **ACTOR_OPTIONS).remote(
        strategy_id, strategy_path, dict(params or {}), ledger or LedgerConfig(), history_bars
    )


def call(
    ray: Any, actor: Any, op: str, args: tuple[Any, ...], timeout_s: float | None = None
) -> Any:
    """Run `op` in the actor's host and return its value (or raise its error).

    Raises `ray.exceptions.RayActorError` when the actor is dead, and
    `ray.exceptions.GetTimeoutError` when no reply came within `timeout_s`."""
    reply: Reply = ray.get(actor.handle.remote((op, args)), timeout=timeout_s)
    return unwrap(reply)
