"""What the supervisor needs from a worker host, in-process or in a child process."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from core.market import Slice
from core.step import StepReport


class WorkerHandle(Protocol):
    """The async face of one strategy host (see workers/)."""

    async def step(self, market: Slice, trading: bool) -> StepReport: ...

    async def deposit(self, amount: Decimal) -> Decimal:
        """Add cash; return the ledger's value after."""
        ...

    async def withdraw(self, amount: Decimal | None) -> tuple[Decimal, Decimal, Decimal]:
        """Move `amount` (None: everything) out; return (moved, costs, value after)."""
        ...

    async def cancel_orders(self, reason: str) -> None: ...

    async def release_positions(self) -> list[dict[str, Any]]: ...

    async def snapshot(self) -> bytes: ...

    async def restore(self, state: bytes) -> None: ...

    async def close(self) -> None: ...
