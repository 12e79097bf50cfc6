"""Strategies hosted in shards: the daemon's side of `worker: shard`.

A `ShardPool` holds K `Shard`s; a strategy goes to shard `shard_of(strategy_id, K)` (see
`workers.shard_host`; the pool and its members: `daemon.shard_pool`). Each `Shard` drives
one shard process and keeps each member's last checkpoint (its latest snapshot) and one log
of every operation completed since the oldest of them (a slice once for all members), like
`RecoverableWorker` does for one strategy. A `ShardMember` is the per-strategy face the
engine's commands use (start, deposit, withdraw, snapshot...); steps do not go through it:
`FundEngine` steps a whole shard with one message per slice (`Shard.step`).

When a shard process dies during a step (a member overran its deadline, exited, or pushed
the shard past its memory limit), the member it announced is the culprit: the shard is
rebuilt at its members' last consistent state (the end of the previous slice), and the
slice is stepped again with the culprit not trading, so every other member ends the slice
exactly as in a run without the fault. The culprit's fault is returned to the engine, which
quarantines it and has it journaled. A process found dead between slices (nothing was
announced) is rebuilt and the operation run again: no strategy is charged. So is a process
killed from outside during a step (a SIGKILL the supervisor did not send: an operator, the
kernel's out-of-memory killer), up to `LOST_RETRIES` times in one slice; only a process that
keeps dying that way charges the strategy it announced.

A shard runs on a backend (`workers.shard_backend`): a child process of the daemon, or a Ray
actor. A Ray actor cannot announce its culprit: its shard finds it by stepping the slice
again one member per request (`daemon.shard_search`).

The shard process starts with its first member and ends with its last.
"""

from __future__ import annotations

import asyncio
from collections.abc import Container
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.market import Slice
from core.performance_copy import Since, Tracked
from daemon import logs
from daemon.shard_columns import MemberColumns
from daemon.shard_search import step_unannounced
from workers.errors import (
    MemoryLimitTooLow,
    WorkerCrashed,
    WorkerError,
    WorkerLost,
    WorkerMemoryExceeded,
    WorkerTimeout,
)
from workers.factory import WorkerSpec
from workers.host import StepOutcome
from workers.shard_backend import MakeShard
from workers.shard_host import IDLE, BuildArgs, LoggedOp
from workers.shard_process import ShardOptions, ShardProcess
from workers.shard_reply import ReplyToken, SliceReply
from workers.shard_stats import StatisticsState

STEP_FAULTS = (WorkerTimeout, WorkerCrashed, WorkerMemoryExceeded)

_log = logs.get("paperfund.shards")

LOST_RETRIES = 2
"""How many times in one slice a shard killed from outside (`WorkerLost`) is rebuilt and
stepped again before the strategy it announced is charged: an operator's or the kernel's
SIGKILL strikes once, a strategy that kills its own process strikes every time."""


def build_args(spec: WorkerSpec) -> BuildArgs:
    """How a shard builds the member of `spec`."""
    return (spec.strategy_id, spec.strategy_path, spec.params, spec.ledger, spec.history_bars)


@dataclass
class _Member:
    spec: WorkerSpec
    checkpoint: bytes
    at: int
    """The position in the shard's log at which `checkpoint` was taken."""
    statistics: StatisticsState = None
    """The member's statistics at `at` (`workers.shard_stats`; None: not tracked yet)."""

    @property
    def build(self) -> BuildArgs:
        return build_args(self.spec)


@dataclass(frozen=True, slots=True)
class ShardSteps:
    """One shard's slice, as the engine books it: the members' ids in member order, the
    shard's reply, who did not trade, and the full outcome of every member whose step did more
    than mark to market or overran its deadline (by member index). The other members' steps
    are booked together from `reply` (`FundBook.on_marks`)."""

    ids: list[str]
    reply: SliceReply
    not_trading: frozenset[str]
    outcomes: dict[int, StepOutcome]
    shard: Shard
    """The shard that answered (its `columns` hold every member as of `reply`)."""

    def marks(self) -> tuple[list[str], Container[int]]:
        """The ids `reply.values` and `reply.cash` are for, in their order, and the places
        in that order of the members whose outcome is booked on its own (`outcomes`)."""
        changed, outcomes = self.reply.changed, self.outcomes
        if changed is None:
            return self.ids, outcomes
        ids = self.ids
        apart = {k for k, i in enumerate(changed) if i in outcomes} if outcomes else ()
        return [ids[i] for i in changed], apart


_Entry = tuple[Any, ...]
"""A shard log entry: ("step", market, not trading) or (strategy id, op, args)."""

TRIM_EVERY = 64
"""Log entries between two trims of the entries every member's checkpoint covers."""


class Shard:
    """One shard process and what it takes to rebuild it exactly."""

    def __init__(
        self, index: int, options: ShardOptions, backend: MakeShard = ShardProcess
    ) -> None:
        self.index = index
        self.options = options
        self.process = backend(str(index), options)
        self.members: dict[str, _Member] = {}
        self.log: list[_Entry] = []
        """Every operation the members completed since the oldest checkpoint, in order: a
        slice once for all members (not one entry per member), or one member's operation."""
        self.log_start = 0
        """The position of `log[0]` (positions count every entry ever logged)."""
        self.rebuilds = 0
        """How many times the process was rebuilt (after a fault or a death)."""
        self.loading = asyncio.Lock()
        """Held while the book's copies of the members' statistics are loaded
        (`daemon.shard_statistics`)."""
        self.columns: MemberColumns | None = None
        """The members' values as of the last reply (`daemon.shard_columns`)."""
        self.booked: ReplyToken | None = None
        """The token of the last reply the book took (set by the engine once booked)."""

    def __repr__(self) -> str:
        return f"Shard({self.index}, members={len(self.members)})"

    # ---- membership ------------------------------------------------------------------
    async def join(self, spec: WorkerSpec, initial_cash: Decimal) -> Decimal:
        """Build, initialise and fund a new member (last in the order); its value after."""
        setup = [("initialize", ()), ("deposit", (initial_cash,)), ("snapshot", ())]
        _, value, checkpoint = await self._add(spec, setup)
        self.members[spec.strategy_id] = _Member(spec, checkpoint, self._end)
        return Decimal(value)  # the deposit's reply: the member's value, already a Decimal

    async def join_restored(self, spec: WorkerSpec, snapshot: bytes) -> None:
        """Build a member (last in the order) and restore it from `snapshot`."""
        await self._add(spec, [("restore", (snapshot,))])
        self.members[spec.strategy_id] = _Member(spec, snapshot, self._end)

    async def _add(self, spec: WorkerSpec, setup: list[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """Build `spec` in the shard and run its `setup` operations (their results); on any
        failure the half-built member is dropped from the shard before the error goes on."""
        sid = spec.strategy_id
        self._absent(sid)
        await self._running()
        built = False
        try:
            await self._request("add", build_args(spec))
            built = True
            return [await self._member_op(sid, op, *args) for op, args in setup]
        except BaseException:
            await self._forget_unregistered(sid, built)
            raise

    async def leave(self, strategy_id: str) -> None:
        """Drop a member (nothing if it is not one); the process ends with its last member.

        Always drops it: a process that cannot (it died and cannot be rebuilt, say because
        the member's code is gone) is killed instead, and the next operation rebuilds the
        shard from its other members. A member the fund no longer has must not be stepped
        with the others: the book would be handed a strategy it does not hold."""
        if strategy_id not in self.members:
            return
        try:
            await self.call(strategy_id, "remove_self")
        except WorkerError as exc:
            _log.warning(
                "shard process killed to drop a member it could not remove",
                shard=self.index,
                strategy_id=strategy_id,
                error=f"{type(exc).__name__}: {exc}",
            )
            await self.process.kill()
        del self.members[strategy_id]
        self._trim()
        if not self.members:
            await self.process.close()

    def has(self, strategy_id: str) -> bool:
        return strategy_id in self.members and self.process.alive

    def _absent(self, strategy_id: str) -> None:
        if strategy_id in self.members:
            raise WorkerError(f"strategy {strategy_id!r} is already in shard {self.index}")

    async def _forget_unregistered(self, strategy_id: str, built: bool) -> None:
        """After a failed join: drop the half-built member the child holds when it was
        `built` (a member that failed to build was never added: nothing to drop, and the
        other members' process lives on); a child that cannot drop it is killed (the next
        operation rebuilds it without the member)."""
        if built and self.process.alive:
            try:
                await self._request("remove", (strategy_id,))
            except WorkerError:
                await self.process.kill()
        if not self.members:
            await self.process.close()

    # ---- operations on one member ----------------------------------------------------
    async def call(self, strategy_id: str, op: str, *args: Any, logged: bool = False) -> Any:
        """Run a member's operation; a process found dead is rebuilt and the operation run
        once more on the rebuilt state, which is the same state. `logged`: it changes the
        member, so it is replayed by a rebuild."""
        member = self.members.get(strategy_id)
        if member is None:
            raise WorkerCrashed(f"strategy {strategy_id!r} is not in shard {self.index}")
        if op == "remove_self":
            return await self._retrying("remove", (strategy_id,))
        if op == "snapshot":  # taken with the statistics, so that a rebuild has both
            snapshot, member.statistics = await self._retrying(
                "member", (strategy_id, "checkpoint", args)
            )
            member.checkpoint, member.at = snapshot, self._end
            return snapshot
        result = await self._retrying("member", (strategy_id, op, args))
        if op == "restore":  # the statistics do not change: the reply is their state
            member.checkpoint, member.statistics, member.at = args[0], result, self._end
            return None
        if logged:
            self.log.append((strategy_id, op, args))
        return result

    @property
    def _end(self) -> int:
        return self.log_start + len(self.log)

    def _trim(self) -> None:
        """Drop the entries that every member's checkpoint already covers."""
        oldest = min((m.at for m in self.members.values()), default=self._end)
        if oldest > self.log_start:
            del self.log[: oldest - self.log_start]
            self.log_start = oldest

    def _member_log(self, strategy_id: str, at: int) -> list[LoggedOp]:
        """What member `strategy_id` completed since log position `at`, for a rebuild."""
        ops: list[LoggedOp] = []
        for entry in self.log[at - self.log_start :]:
            if entry[0] == "step":
                ops.append(("step", (entry[1], strategy_id not in entry[2])))
            elif entry[0] == strategy_id:
                ops.append((entry[1], entry[2]))
        return ops

    async def _retrying(self, op: str, args: tuple[Any, ...]) -> Any:
        await self._running()
        try:
            return await self._request(op, args)
        except WorkerCrashed:
            await self.rebuild()
            return await self._request(op, args)

    async def _member_op(self, strategy_id: str, op: str, *args: Any) -> Any:
        return await self._request("member", (strategy_id, op, args))

    async def _request(self, op: str, args: tuple[Any, ...]) -> Any:
        return await self.process.request(op, args, self.options.control_timeout_s)

    # ---- stepping --------------------------------------------------------------------
    async def step(
        self, market: Slice, not_trading: frozenset[str], replay: bool
    ) -> tuple[ShardSteps, dict[str, str]]:
        """Step every member (those in `not_trading` without trading): the members' steps,
        and the faults found (culprit id -> reason), in the order found."""
        if not self.process.announces:
            return await step_unannounced(self, market, not_trading, replay, LOST_RETRIES)
        faults: dict[str, str] = {}
        unnamed = lost = 0
        options = self.options
        while True:
            await self._running()
            skip = not_trading | faults.keys() if faults else not_trading
            timeout_s = options.slice_timeout_s(len(self.members), replay)
            try:
                reply: SliceReply = await self.process.request(
                    "step", (market, skip, replay, self.base()), timeout_s
                )
                break
            except STEP_FAULTS as exc:
                if isinstance(exc, WorkerLost) and lost < LOST_RETRIES:
                    lost += 1  # killed from outside: rebuilt, stepped again, nobody charged
                    continue
                culprit = self._announced()
                if culprit is None:
                    unnamed += 1
                    if unnamed > 1:  # twice with no member stepping: not a strategy's fault
                        raise
                    continue
                if culprit in faults:  # it was not trading: its fault is not its code's
                    if isinstance(exc, WorkerMemoryExceeded):
                        raise self.memory_too_low(f"with strategy {culprit} not trading") from None
                    raise
                faults[culprit] = f"{type(exc).__name__}: strategy {culprit}: {exc}"
        return self._settled(market, skip, reply), faults

    def base(self) -> ReplyToken | None:
        """What a step asks the process to build its reply on: the last reply booked, when
        the book updates no member's statistics itself (it needs every member's value on
        every slice then), else nothing (a whole reply)."""
        return self.booked if self.options.keep_statistics else None

    def _settled(self, market: Slice, skip: frozenset[str], reply: SliceReply) -> ShardSteps:
        ids = list(self.members)
        carried = len(ids) if reply.changed is None else len(reply.changed)
        if not len(reply.values) == len(reply.cash) == carried or len(reply.durations) != len(ids):
            raise WorkerError(f"shard {self.index} answered {len(reply.durations)} members' steps")
        if reply.changed is None:
            self.columns = MemberColumns(reply)
        elif self.columns is None or len(self.columns.values) != len(ids):
            raise WorkerError(f"shard {self.index} answered changes to a reply it was not sent")
        else:
            self.columns.apply(reply)
        self.log.append(("step", market, skip))
        if len(self.log) % TRIM_EVERY == 0:
            self._trim()
        durations = reply.durations
        outcomes = {i: StepOutcome(report, durations[i]) for i, report in reply.notable.items()}
        limit = self.options.step_timeout_s
        if durations and max(durations) > limit:  # rare: every report is worth building
            reports = self.columns.reports(ids, market.ts, skip, reply.notable)
            for i, duration_s in enumerate(durations):
                if duration_s > limit:
                    outcomes[i] = StepOutcome(reports[i], duration_s, True)
        return ShardSteps(ids, reply, skip, outcomes, self)

    def _announced(self) -> str | None:
        index = self.process.announced
        if index == IDLE or not 0 <= index < len(self.members):
            return None
        return list(self.members)[index]

    async def statistics(self, since: dict[str, Since]) -> list[tuple[str, Tracked]]:
        """The tracked members' statistics as the process holds them now, for copies that
        stand at `since[id]` (`core.performance_copy.tracked_fields`). Not retried:
        a process that is not running (or dies) raises `WorkerError`, and whoever is
        stepping or rebuilding the shard brings it back."""
        fields: list[tuple[str, Tracked]] = await self._request("statistics", (since,))
        return fields

    # ---- lifecycle -------------------------------------------------------------------
    async def _running(self) -> None:
        """Start the process, or rebuild it if it died."""
        if not self.process.alive:
            await self.rebuild()

    async def rebuild(self) -> None:
        """A new process with every member at its checkpoint plus its logged operations."""
        self.booked = None  # its next reply is whole
        await self.process.kill()
        await self.process.start()
        if not self.members:
            return
        self.rebuilds += 1
        members = [
            (m.build, m.checkpoint, m.statistics, self._member_log(sid, m.at))
            for sid, m in self.members.items()
        ]
        logged = sum(len(log) for *_, log in members)
        timeout_s = self.options.slice_timeout_s(len(members) + logged, replay=True)
        try:
            await self.process.request("rebuild", (members,), timeout_s)
        except WorkerMemoryExceeded:
            raise self.memory_too_low("while its strategies are rebuilt") from None
        await self.process.request("ready", (), self.options.control_timeout_s)

    def memory_too_low(self, when: str) -> MemoryLimitTooLow:
        """The error of a shard past its memory limit with no strategy to blame (`when`)."""
        return MemoryLimitTooLow(
            f"shard {self.index} passes its memory limit of {self.options.memory_limit_mb} MiB "
            f"(workers.memory_limit_mb) {when}: its strategies need more memory together than "
            "the limit, which no strategy's fault explains; raise it, or spread them over more "
            "shards (workers.shards)"
        )

    async def close(self) -> None:
        self.members.clear()
        self.log.clear()
        await self.process.close()
