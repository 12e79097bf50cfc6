"""Liveness and readiness of the daemon, for `/healthz`, `/readyz` and the metrics.

Live: the event loop answers (whoever calls this is running on it). Ready: recovery is over,
a slice was processed within `max_bar_age_s` (a feed that went quiet or stalled is not
ready), the journal accepts writes, and the Redis command channel, when configured, is
connected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from daemon.persistence import StateStore
from daemon.supervisor import Supervisor

Clock = Callable[[], float]


@dataclass
class Health:
    supervisor: Supervisor
    store: StateStore
    max_bar_age_s: float | None = None
    """None: the feed's freshness is not checked (a replay that may pause, say)."""
    redis_connected: Callable[[], bool] | None = None
    """None when no Redis command channel is configured."""
    clock: Clock = field(default=time.time)
    """Unix seconds, as the supervisor stamps its last slice."""

    def checks(self) -> dict[str, Any]:
        """Each readiness check: name -> {"ok": bool, "detail": str}."""
        sup = self.supervisor
        checks: dict[str, Any] = {
            "recovered": _check(not sup.recovering, "recovering" if sup.recovering else "done"),
            "journal": _check(not self.store.closed, "closed" if self.store.closed else "open"),
        }
        if self.max_bar_age_s is not None:
            last = sup.last_slice_unix
            if last is None:
                checks["feed"] = _check(False, "no slice processed yet")
            else:
                age = self.clock() - last
                detail = f"last slice {age:.1f} s ago (max {self.max_bar_age_s:g} s)"
                checks["feed"] = _check(age <= self.max_bar_age_s, detail)
        if self.redis_connected is not None:
            up = self.redis_connected()
            checks["redis"] = _check(up, "connected" if up else "disconnected")
        return checks

    def ready(self) -> tuple[bool, dict[str, Any]]:
        checks = self.checks()
        return all(c["ok"] for c in checks.values()), checks


def _check(ok: bool, detail: str) -> dict[str, Any]:
    return {"ok": ok, "detail": detail}
