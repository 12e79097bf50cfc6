"""The engine's faces of shards: `ShardMember`, one strategy in a shard with the async API
of a worker, and `ShardPool`, the K shards of a fund (a strategy goes to shard
`shard_of(strategy_id, K)`, see `workers.shard_host`). How a shard is driven and rebuilt:
`daemon.shards`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.market import Slice
from core.money import ZERO
from daemon.shards import Shard
from workers.errors import WorkerError
from workers.factory import WorkerSpec
from workers.host import StepOutcome
from workers.shard_backend import MakeShard
from workers.shard_host import shard_of
from workers.shard_process import ShardOptions, ShardProcess


class ShardMember:
    """One strategy in a shard, with the async API of a worker (steps excepted: the engine
    steps a shard's members together through `Shard.step`)."""

    def __init__(self, shard: Shard, spec: WorkerSpec) -> None:
        self.shard = shard
        self.spec = spec
        self.strategy_id = spec.strategy_id

    @property
    def alive(self) -> bool:
        return self.shard.has(self.strategy_id)

    async def start(self, initial_cash: Decimal = ZERO) -> Decimal:
        return await self.shard.join(self.spec, initial_cash)

    async def restart(self, snapshot: bytes) -> None:
        await self.shard.leave(self.strategy_id)
        await self.shard.join_restored(self.spec, snapshot)

    async def step(self, market: Slice, trading: bool, *, replay: bool = False) -> StepOutcome:
        raise WorkerError("a shard's members are stepped together: see FundEngine.step")

    async def deposit(self, amount: Decimal) -> Decimal:
        value: Decimal = await self.shard.call(self.strategy_id, "deposit", amount, logged=True)
        return value

    async def withdraw(self, amount: Decimal | None) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        result: tuple[Decimal, Decimal, Decimal, Decimal] = await self.shard.call(
            self.strategy_id, "withdraw", amount, logged=True
        )
        return result

    async def cancel_orders(self, reason: str) -> int:
        count: int = await self.shard.call(self.strategy_id, "cancel_orders", reason, logged=True)
        return count

    async def release_positions(self) -> list[dict[str, Any]]:
        released: list[dict[str, Any]] = await self.shard.call(
            self.strategy_id, "release_positions", logged=True
        )
        return released

    async def track(self, statistics: dict[str, Any]) -> None:
        """Hand the member its statistics (`StrategyPerformance.to_state`): from now on the
        shard updates them (`workers.shard_stats`)."""
        await self.shard.call(self.strategy_id, "track", statistics, logged=True)

    async def record_flow(self, amount: Decimal) -> None:
        """Capital the fund moved in (+) or out (-), for the member's statistics."""
        await self.shard.call(self.strategy_id, "flow", amount, logged=True)

    async def ledger_state(self) -> dict[str, Any]:
        state: dict[str, Any] = await self.shard.call(self.strategy_id, "ledger_state")
        return state

    async def restore_ledger(self, state: dict[str, Any]) -> None:
        await self.shard.call(self.strategy_id, "restore_ledger", state, logged=True)

    async def snapshot(self) -> bytes:
        blob: bytes = await self.shard.call(self.strategy_id, "snapshot")
        return blob

    async def restore(self, snapshot: bytes) -> None:
        await self.shard.call(self.strategy_id, "restore", snapshot)

    async def close(self) -> None:
        await self.shard.leave(self.strategy_id)


class ShardPool:
    """K shards; a strategy's shard is `shard_of(strategy_id, K)`. A shard is made when its
    first member is, so K costs nothing until strategies fill it (K may exceed the number of
    strategies, by any amount)."""

    def __init__(
        self, shards: int, options: ShardOptions, backend: MakeShard = ShardProcess
    ) -> None:
        if shards < 1:
            raise ValueError(f"shards must be >= 1, got {shards}")
        self.count = shards
        self._options, self._backend = options, backend
        self._made: dict[int, Shard] = {}

    @property
    def shards(self) -> list[Shard]:
        """The shards made so far, by index."""
        return [self._made[index] for index in sorted(self._made)]

    def member(self, spec: WorkerSpec) -> ShardMember:
        index = shard_of(spec.strategy_id, self.count)
        shard = self._made.get(index)
        if shard is None:
            shard = self._made[index] = Shard(index, self._options, self._backend)
        return ShardMember(shard, spec)

    async def close(self) -> None:
        for shard in self.shards:
            await shard.close()
