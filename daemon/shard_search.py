"""Stepping a shard whose backend cannot announce its culprit (`announces` False: a Ray actor).

A slice is stepped with one message, as for a shard process. When the shard dies or overruns
that step, nothing says which member was stepping, so the shard is rebuilt at its members'
last consistent state and the slice stepped again **one member per request**
(`ShardHost.step_one`): members are independent, so that ends the slice in the same state
as one step. The request in flight when the shard dies again, or overruns its member's
deadline, names the culprit: the shard is rebuilt once more and the search starts over with
the culprit not trading. A fault that does not come back (an external `ray.kill`, a lost
node) charges nobody, and the one-member results are the slice's. A shard killed from
outside (`WorkerLost`) during the search is rebuilt and searched again up to `LOST_RETRIES`
times, as `Shard.step` does for a shard process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.market import Slice
from workers.errors import WorkerCrashed, WorkerLost, WorkerMemoryExceeded, WorkerTimeout
from workers.host import StepOutcome
from workers.shard_reply import SliceReply

if TYPE_CHECKING:
    from daemon.shards import Shard, ShardSteps

SEARCH_FAULTS = (WorkerTimeout, WorkerCrashed, WorkerMemoryExceeded)

ONE_STEP_MARGIN_S = 1.0
"""Added to a member's step deadline for its request's round trip (to a busy Ray node)."""

Stepped = tuple["ShardSteps", dict[str, str]]
"""The members' steps, and the faults found (culprit id -> reason)."""


async def step_unannounced(
    shard: Shard, market: Slice, not_trading: frozenset[str], replay: bool, lost_retries: int
) -> Stepped:
    """`Shard.step` for a backend that does not announce (see the module docstring)."""
    await shard._running()
    timeout_s = shard.options.slice_timeout_s(len(shard.members), replay)
    try:
        reply: SliceReply = await shard.process.request(
            "step", (market, not_trading, replay, shard.base()), timeout_s
        )
    except SEARCH_FAULTS:
        return await search_culprits(shard, market, not_trading, replay, lost_retries)
    return shard._settled(market, not_trading, reply), {}


async def search_culprits(
    shard: Shard, market: Slice, not_trading: frozenset[str], replay: bool, lost_retries: int
) -> Stepped:
    """Rebuild the shard and step the slice one member per request, until a pass completes;
    each member whose request faults is a culprit (it does not trade in the next pass)."""
    faults: dict[str, str] = {}
    lost = 0
    while True:
        await shard.rebuild()
        skip = not_trading | faults.keys() if faults else not_trading
        outcomes: list[StepOutcome] = []
        stepping = ""
        try:
            for stepping in shard.members:
                outcomes.append(await _step_one(shard, stepping, market, skip, replay))
        except SEARCH_FAULTS as exc:
            if isinstance(exc, WorkerLost) and lost < lost_retries:
                lost += 1  # killed from outside: rebuilt, searched again, nobody charged
                continue
            if stepping in skip:  # it was not trading: its fault is not its code's
                if isinstance(exc, WorkerMemoryExceeded):
                    raise shard.memory_too_low(f"with strategy {stepping} not trading") from None
                raise
            faults[stepping] = f"{type(exc).__name__}: strategy {stepping}: {exc}"
            continue
        return shard._settled(market, skip, SliceReply.of(outcomes)), faults


async def _step_one(
    shard: Shard, strategy_id: str, market: Slice, skip: frozenset[str], replay: bool
) -> StepOutcome:
    options = shard.options
    deadline_s = options.replay_timeout_s if replay else options.step_timeout_s
    outcome: StepOutcome = await shard.process.request(
        "step_one",
        (strategy_id, market, strategy_id not in skip, replay),
        deadline_s + ONE_STEP_MARGIN_S,
    )
    return outcome
