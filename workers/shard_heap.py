"""`SettlingShard`: a shard's message handler that keeps the cyclic collector's pauses short.

A shard's members are a large, long-lived object graph (500 SMA strategies: ~100,000
objects, ~60 ms per full collection, a few full collections per thousand slices: the whole
of the slice latency's p99). After each operation that changes membership or state, and
every `SETTLE_EVERY` slices, the young generations are collected (well under 1 ms) and what
is alive is frozen (`gc.freeze`), so full collections walk only what was made since.
Cyclic garbage made of frozen objects (a member's replaced state, if it held cycles) is kept
until the process is rebuilt; reference counting frees everything else as usual. A shard
owns its process (a shard child, or a Ray actor's worker), so the policy is the process's.
"""

from __future__ import annotations

import gc

from workers.host import Message, Reply
from workers.shard_host import ShardHost

SETTLE_EVERY = 64
"""Slices between two settlings of a shard's heap."""

READ_ONLY = frozenset({"ledger_state", "snapshot"})
"""Member operations that change nothing: no settling after them."""


class SettlingShard:
    """`ShardHost.handle`, then a settling of the heap when it is due."""

    def __init__(self, shard: ShardHost) -> None:
        self.shard = shard
        self._steps = 0

    def handle(self, message: Message) -> Reply:
        reply = self.shard.handle(message)
        op, args = message
        if op in ("step", "step_one"):
            self._steps += 1
            if self._steps % SETTLE_EVERY:
                return reply
        elif op == "member" and args[1] in READ_ONLY:
            return reply
        gc.collect(1)
        gc.freeze()
        return reply
