"""Log events for the engine's runtime events met on live slices (rebalances, worker faults,
quarantines, overruns): one event each, never one per bar. Commands are logged by the
command service."""

from __future__ import annotations

from daemon import logs
from daemon.engine import Event

_log = logs.get("paperfund.engine")

_NAMES = {
    "rebalance": ("info", "rebalance"),
    "quarantine": ("warning", "strategy quarantined"),
    "fault": ("warning", "worker fault"),
    "overrun": ("warning", "step overran its deadline"),
    "reserve_mark_failed": ("warning", "reserve not marked: the slice cannot be computed with"),
}


def log_event(event: Event) -> None:
    level, name = _NAMES.get(event.kind, ("info", f"fund event: {event.kind}"))
    getattr(_log, level)(
        name,
        strategy_id=event.strategy_id,
        slice_index=event.slice_index,
        slice_ts=None if event.ts is None else event.ts.isoformat(),
        detail=event.detail,
    )
