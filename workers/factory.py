"""One place that turns a `WorkerSpec` into a worker of the kind it asks for.

    worker = create_worker(spec)
    await worker.start(initial_cash)   # build the strategy, initialize(context), deposit
    ...
    await worker.close()

Both kinds share the async API of `workers.host.HostClient`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core.history import DEFAULT_HISTORY_BARS
from workers.host import LedgerConfig
from workers.inprocess import InProcessWorker
from workers.loader import PATH_FORMAT
from workers.process import ProcessWorker

WorkerMode = Literal["inprocess", "process", "shard"]
MODES: tuple[WorkerMode, ...] = ("inprocess", "process", "shard")


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker runs and how.

    `strategy_path` is "package.module:ClassName", built with keyword `params` (in the child
    for modes "process" and "shard", so the parent never imports it). `step_timeout_s` is
    each step's deadline: a process worker is killed on overrun, an in-process one reports
    it.
    `control_timeout_s` bounds every other operation of a process worker (start-up included).
    """

    strategy_id: str
    strategy_path: str
    params: dict[str, Any] = field(default_factory=dict)
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    mode: WorkerMode = "inprocess"
    step_timeout_s: float = 1.0
    history_bars: int = DEFAULT_HISTORY_BARS
    control_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.strategy_id, str) or not self.strategy_id:
            raise ValueError("strategy_id must be a non-empty str")
        if not isinstance(self.strategy_path, str) or ":" not in self.strategy_path:
            raise ValueError(f"strategy_path must look like {PATH_FORMAT!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not self.step_timeout_s > 0 or not self.control_timeout_s > 0:
            raise ValueError("step_timeout_s and control_timeout_s must be > 0")
        if self.history_bars < 1:
            raise ValueError(f"history_bars must be >= 1, got {self.history_bars}")


def create_worker(spec: WorkerSpec) -> InProcessWorker | ProcessWorker:
    """A worker of `spec.mode`, not started yet (a "shard" member comes from the fund's
    shard pool, which decides its shard: `daemon.shard_pool.ShardPool.member`)."""
    if spec.mode == "shard":
        raise ValueError("a shard member is made by its fund's shard pool, not create_worker")
    if spec.mode == "process":
        return ProcessWorker(spec)
    return InProcessWorker(spec)
