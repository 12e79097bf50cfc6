"""`InProcessWorker`: a strategy host called directly on the event loop (trusted code).

Each call runs the host synchronously through the same message protocol as a
`ProcessWorker`, so both give the same results and raise the same errors. It is the fast
path (no serialisation, no context switch) and has the limits of running in the loop:

- a step cannot be pre-empted. Its duration is measured and a step that took longer than
  `step_timeout_s` comes back with `StepOutcome.overrun` set, for the supervisor to report;
  while it runs, nothing else on the loop does (feeds, HTTP, other workers).
- a strategy that crashes the interpreter (`os._exit`, a segfault in an extension) or
  exhausts memory takes the daemon with it. Run untrusted code in a `ProcessWorker`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.market import Slice
from workers.errors import WorkerCrashed, WorkerError
from workers.host import HostClient, StepOutcome, StrategyHost, build_host, error_reply, unwrap

if TYPE_CHECKING:
    from workers.factory import WorkerSpec


class InProcessWorker(HostClient):
    """The async face of a `StrategyHost` living in this process."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self._host: StrategyHost | None = None

    @property
    def host(self) -> StrategyHost:
        """The host itself (for inspection; mutate it only through the worker API)."""
        if self._host is None:
            raise WorkerCrashed(f"worker {self.spec.strategy_id} is not started")
        return self._host

    @property
    def alive(self) -> bool:
        return self._host is not None

    async def _open(self) -> None:
        if self._host is not None:
            raise WorkerError(f"worker {self.spec.strategy_id} is already running")
        spec = self.spec
        self._host = build_host(
            spec.strategy_id, spec.strategy_path, spec.params, spec.ledger, spec.history_bars
        )

    async def _discard(self) -> None:
        self._host = None

    async def _call(self, op: str, args: tuple[Any, ...], timeout_s: float) -> Any:
        return unwrap(self.host.handle((op, args)))

    async def step(self, market: Slice, trading: bool, *, replay: bool = False) -> StepOutcome:
        return self.step_now(market, trading)

    def step_now(self, market: Slice, trading: bool) -> StepOutcome:
        """The hot path, synchronous: call the host directly (same errors as `handle`)."""
        host = self._host
        if host is None:
            raise WorkerCrashed(f"worker {self.spec.strategy_id} is not started")
        try:
            outcome = host.step(market, trading)
        except Exception as exc:
            return unwrap(error_reply(exc))  # type: ignore[no-any-return]
        if outcome.duration_s > self.spec.step_timeout_s:
            return outcome._replace(overrun=True)
        return outcome

    async def close(self) -> None:
        self._host = None
