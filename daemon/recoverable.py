"""A worker in a child process that can be rebuilt exactly after the child is killed.

`RecoverableWorker` keeps the worker's state at its last checkpoint (its latest snapshot) and
every operation sent to it since. When a step overruns its deadline or the child dies, the
worker is rebuilt: a new child restores the checkpoint and the logged operations are replayed
(strategy code is deterministic), which brings the ledger back to its last consistent state
(the end of the previous slice). The log is bounded by the fund's snapshot interval. A control
operation (deposit, withdrawal, snapshot...) that finds the child dead rebuilds it and runs
again; a step that does is left to the engine, which counts the failure.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.market import Slice
from workers.errors import WorkerCrashed
from workers.host import HostClient, StepOutcome


class RecoverableWorker:
    """Wraps a process `HostClient` with the same async API plus `rebuild()`."""

    def __init__(self, inner: HostClient) -> None:
        self.inner = inner
        self._checkpoint: bytes | None = None
        self._log: list[tuple[str, tuple[Any, ...]]] = []

    async def _logged(self, op: str, *args: Any) -> Any:
        result = await self._call(op, *args)
        self._log.append((op, args))
        return result

    async def _call(self, op: str, *args: Any) -> Any:
        """Run a control operation; a child found dead (killed while idle, say) is rebuilt
        and the operation run once more on the rebuilt state, which is the same state."""
        try:
            return await getattr(self.inner, op)(*args)
        except WorkerCrashed:
            await self.rebuild()
            return await getattr(self.inner, op)(*args)

    async def start(self, initial_cash: Decimal = Decimal(0)) -> Decimal:
        value = await self.inner.start(initial_cash)
        self._checkpoint = await self.inner.snapshot()
        self._log.clear()
        return value

    async def restart(self, snapshot: bytes) -> None:
        await self.inner.restart(snapshot)
        self._checkpoint = snapshot
        self._log.clear()

    async def rebuild(self) -> None:
        """Back to the state after the last successful operation, in a new child."""
        if self._checkpoint is None:
            raise RuntimeError("worker was never started")
        await self.inner.restart(self._checkpoint)
        for op, args in self._log:
            if op == "step":  # it completed once: no step deadline this time
                await self.inner.step(*args, replay=True)
            else:
                await getattr(self.inner, op)(*args)

    async def step(self, market: Slice, trading: bool, *, replay: bool = False) -> StepOutcome:
        outcome: StepOutcome = await self.inner.step(market, trading, replay=replay)
        self._log.append(("step", (market, trading)))
        return outcome

    async def deposit(self, amount: Decimal) -> Decimal:
        value: Decimal = await self._logged("deposit", amount)
        return value

    async def withdraw(self, amount: Decimal | None) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        result: tuple[Decimal, Decimal, Decimal, Decimal] = await self._logged("withdraw", amount)
        return result

    async def cancel_orders(self, reason: str) -> int:
        count: int = await self._logged("cancel_orders", reason)
        return count

    async def release_positions(self) -> list[dict[str, Any]]:
        released: list[dict[str, Any]] = await self._logged("release_positions")
        return released

    async def snapshot(self) -> bytes:
        state: bytes = await self._call("snapshot")
        self._checkpoint = state
        self._log.clear()
        return state

    async def restore(self, snapshot: bytes) -> None:
        await self.inner.restore(snapshot)
        self._checkpoint = snapshot
        self._log.clear()

    async def ledger_state(self) -> dict[str, Any]:
        state: dict[str, Any] = await self._call("ledger_state")
        return state

    async def restore_ledger(self, state: dict[str, Any]) -> None:
        await self._logged("restore_ledger", state)

    async def close(self) -> None:
        await self.inner.close()
