"""`ShardHost`: many strategy hosts in one place, stepped together with one message per slice.

A shard is where a large fund gets isolation and speed at once: one process (or one Ray
actor) hosts many `StrategyHost`s, receives each slice once, and answers with all of its
strategies' outcomes in a fixed order, the order in which they were added. Every other
operation addresses one strategy by id. Messages follow the host protocol of
`workers.host` (`("ok", value)` or `("error", type_name, text)` replies):

    ready()                                             -> None   raises if no member could step
    add(strategy_id, path, params, ledger, history_bars) -> None   build, not initialised
    remove(strategy_id)                                 -> None
    step(market, not_trading, replay, base)             -> SliceReply
    step_one(strategy_id, market, trading, replay)      -> StepOutcome   one member only
    member(strategy_id, op, args)                       -> the `StrategyHost` operation's reply
    rebuild(members)                                    -> None   see `ShardHost.rebuild`
    statistics(since)                                   -> [(strategy id, tracked fields)]

A member's operations include, besides the `StrategyHost` ones, its statistics
(`workers.shard_stats`: `track`, `flow`, `statistics_state`) and two that keep the
statistics with the ledger: `checkpoint` (the host's snapshot and the statistics' state,
taken together) and `restore` (the host restored; the reply is the statistics' state).

`not_trading` names the members that are filled and marked but whose `handle_data` is not
called (paused, quarantined, or faulted on this slice). A `SliceReply` is compact because
most steps of a large fund only mark to market: every member's step time in member order, a
full `StepReport` only for the members that filled, placed orders, erred or faulted, and the
value and cash of every member, or, when `base` names the shard's last reply, only of those
that changed since (`workers.shard_reply`). Stepping goes
member by member, and before each member the shard tells its `Watch` which one it is
stepping (its index in the member order): a shard process writes it where its parent can
read it after a kill, so a hang, a crash or a memory blow-up is pinned on one strategy.
A shard whose parent cannot read that announcement (a Ray actor, maybe on another machine)
is stepped one member per `step_one` message instead after a death: the message in flight
names the culprit.

Which shard hosts a strategy is `shard_of(strategy_id, shards)`: the SHA-256 of the id, read
as a big-endian integer, modulo the number of shards. It depends on nothing else, so it is
the same after a restart, and adding or removing a strategy never moves another one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

from core.market import Slice
from core.performance_copy import Since
from workers.errors import MemoryLimitTooLow, WorkerError
from workers.host import (
    LedgerConfig,
    Message,
    Reply,
    StepOutcome,
    StrategyHost,
    build_host,
    error_reply,
    unwrap,
)
from workers.shard_reply import ReplyToken, Sent, SliceReply
from workers.shard_stats import OPERATIONS as STATISTICS_OPERATIONS
from workers.shard_stats import ShardStatistics, StatisticsState

IDLE = -1
"""The announced index while no member is stepping."""


def shard_of(strategy_id: str, shards: int) -> int:
    """The shard index of `strategy_id` among `shards` (stable, see the module docstring)."""
    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    digest = hashlib.sha256(strategy_id.encode("utf-8")).digest()
    return int.from_bytes(digest, "big") % shards


class Watch(Protocol):
    """What a shard tells about its stepping (announcement, deadline, memory check)."""

    def stepping(self, index: int, replay: bool) -> None:
        """Member `index` is about to step (`replay`: the step completed once before)."""

    def stepped(self) -> None:
        """The member announced last has finished its step."""

    def idle(self) -> None:
        """No member is stepping."""

    def unusable(self, members: int) -> str | None:
        """Why no member could step in this shard, holding `members` members (its memory
        limit is below what the process takes before any step), or None."""


class NoWatch:
    """A watch that does nothing (a shard in the caller's own process)."""

    def stepping(self, index: int, replay: bool) -> None:
        pass

    def stepped(self) -> None:
        pass

    def idle(self) -> None:
        pass

    def unusable(self, members: int) -> str | None:
        return None


BuildArgs = tuple[str, str, dict[str, Any], LedgerConfig, int]
"""(strategy id, import path, params, ledger config, history bars): how a member is built."""

LoggedOp = tuple[str, tuple[Any, ...]]
"""An operation a member completed: ("step", (market, trading)) or (member op, args)."""

RebuiltMember = tuple[BuildArgs, bytes, StatisticsState, list[LoggedOp]]
"""How `ShardHost.rebuild` rebuilds a member: build it, restore its host snapshot and its
statistics' state (taken together), replay the operations it completed since."""


class ShardHost:
    """Strategy hosts in a fixed order, stepped together (synchronous)."""

    OPERATIONS = frozenset(
        {"ready", "add", "remove", "step", "step_one", "member", "rebuild", "statistics"}
    )

    def __init__(self, watch: Watch | None = None) -> None:
        self.watch: Watch = watch or NoWatch()
        self.members: dict[str, StrategyHost] = {}
        self.stats = ShardStatistics()
        self.sent = Sent()

    def handle(self, message: Message) -> Reply:
        """Run one protocol message; never raises (errors become error replies)."""
        try:
            op, args = message
            if op == "member":
                return self._member(*args)
            if op not in self.OPERATIONS:
                raise WorkerError(f"unknown shard operation {op!r}")
            method: Callable[..., Any] = getattr(self, op)
            return ("ok", method(*args))
        except Exception as exc:
            return error_reply(exc)

    def _member(self, strategy_id: str, op: str, args: tuple[Any, ...]) -> Reply:
        """One member's operation: its host's, or one the shard runs (module docstring)."""
        host = self.host(strategy_id)
        self.sent.forget(strategy_id)  # whatever it does, the next reply carries the member
        if op in STATISTICS_OPERATIONS:
            return ("ok", self.stats.run(strategy_id, op, args))
        if op == "checkpoint":
            return ("ok", (host.snapshot(), self.stats.state(strategy_id)))
        reply = host.handle((op, args))
        if op == "restore" and reply[0] == "ok":
            return ("ok", self.stats.state(strategy_id))
        return reply

    def host(self, strategy_id: str) -> StrategyHost:
        try:
            return self.members[strategy_id]
        except KeyError:
            raise WorkerError(f"strategy {strategy_id!r} is not in this shard") from None

    # ---- operations ------------------------------------------------------------------
    def ready(self) -> None:
        """Raise `MemoryLimitTooLow` if no member could step here (`Watch.unusable`)."""
        problem = self.watch.unusable(len(self.members))
        if problem is not None:
            raise MemoryLimitTooLow(problem)

    def add(self, *build: Any) -> None:
        """Build a member (last in the order); `initialize` is a separate member operation."""
        strategy_id = build[0]
        if strategy_id in self.members:
            raise WorkerError(f"strategy {strategy_id!r} is already in this shard")
        self.members[strategy_id] = build_host(*build)
        self.sent.reset()  # the member order changed: indices of earlier replies are void

    def remove(self, strategy_id: str) -> None:
        self.host(strategy_id)
        del self.members[strategy_id]
        self.stats.drop(strategy_id)
        self.sent.reset()

    def statistics(self, since: dict[str, Since]) -> list[tuple[str, Any]]:
        """The tracked members' statistics (`ShardStatistics.fields`), in member order."""
        return self.stats.fields(self.members, since)

    def step(
        self,
        market: Slice,
        not_trading: frozenset[str],
        replay: bool = False,
        base: ReplyToken | None = None,
    ) -> SliceReply:
        """Step every member in order; their outcomes as one `SliceReply`. `base`: the
        token of the last reply whose values the caller holds; if it is this shard's last
        reply, only the members whose value or cash differs from it (or that did more than
        mark to market) are sent, else every member."""
        watch = self.watch
        outcomes: list[StepOutcome] = []
        append = outcomes.append
        members = self.members
        ids = list(members)
        try:
            for index, (sid, host) in enumerate(members.items()):
                watch.stepping(index, replay)
                append(host.step(market, sid not in not_trading))
                watch.stepped()
        finally:
            watch.idle()
            self.stats.stepped_all(ids, market.ts, outcomes)  # those that stepped
        return self.sent.reply(ids, outcomes, base)

    def step_one(
        self, strategy_id: str, market: Slice, trading: bool, replay: bool = False
    ) -> StepOutcome:
        """Step one member (the others do not move): its outcome. Members are independent,
        so stepping each of them this way, in any order, ends the slice as `step` does."""
        host = self.host(strategy_id)
        self.sent.forget(strategy_id)
        watch = self.watch
        watch.stepping(list(self.members).index(strategy_id), replay)
        try:
            outcome = host.step(market, trading)
            watch.stepped()
        finally:
            watch.idle()
        self.stats.stepped(strategy_id, market.ts, outcome.report.value)
        return outcome

    def rebuild(self, members: list[RebuiltMember]) -> None:
        """Replace every member by one built from `BuildArgs`, restored from its snapshot
        and its statistics' state, with the operations it completed since replayed in order
        (steps without their live deadline): the shard's last consistent state, after a
        kill."""
        self.members = {}
        self.stats = ShardStatistics()
        self.sent = Sent()
        for build, snapshot, statistics, log in members:
            sid = build[0]
            self.add(*build)
            host = self.members[sid]
            host.restore(snapshot)
            self.stats.set_state(sid, statistics)
            index = len(self.members) - 1
            for op, args in log:
                if op == "step":
                    self._replay_step(index, sid, host, *args)
                else:
                    unwrap(self._member(sid, op, args))

    def _replay_step(
        self, index: int, sid: str, host: StrategyHost, market: Slice, trading: bool
    ) -> None:
        watch = self.watch
        watch.stepping(index, True)
        try:
            outcome = host.step(market, trading)
            watch.stepped()
        finally:
            watch.idle()
        self.stats.stepped(sid, market.ts, outcome.report.value)
