"""Trimming a Redis stream read by consumer groups to what every group is done with.

An entry may go once every consumer group on the stream has received it and acknowledged
it: for each group the floor is its oldest pending (delivered, unacknowledged) entry, or,
with nothing pending, the entry after the last one delivered to it. The stream is trimmed
(`XTRIM MINID`, exact) to the lowest floor over all groups. Entries pending anywhere and
entries not yet delivered to some group are never removed, and a stream without groups is
left alone.

Between reading the floors and trimming, other clients can only append entries (above every
floor), deliver them (above the floor of the group they are delivered to) or acknowledge
entries (which only raises a floor), so the trim never removes an entry a group still needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis

StreamId = tuple[int, int]


def parse_id(value: bytes | str) -> StreamId:
    text = value.decode("ascii") if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def format_id(entry: StreamId) -> str:
    return f"{entry[0]}-{entry[1]}"


def after(entry: StreamId) -> StreamId:
    """The smallest id greater than `entry`."""
    ms, seq = entry
    return (ms + 1, 0) if seq == 2**64 - 1 else (ms, seq + 1)


async def trim_floor(client: aioredis.Redis, stream: str) -> StreamId | None:
    """The id below which every group on `stream` has received and acknowledged everything;
    None when the stream has no group."""
    groups: Sequence[Mapping[str, Any]] = await client.xinfo_groups(stream)
    floors = []
    for group in groups:
        if int(group["pending"]) > 0:
            summary = await client.xpending(stream, group["name"])
            if summary["min"] is not None:
                floors.append(parse_id(summary["min"]))
                continue
        floors.append(after(parse_id(group["last-delivered-id"])))
    return min(floors, default=None)


async def trim_acknowledged(client: aioredis.Redis, stream: str) -> int:
    """Delete the entries of `stream` every consumer group is done with; returns how many."""
    floor = await trim_floor(client, stream)
    if floor is None:
        return 0
    return int(await client.xtrim(stream, minid=format_id(floor), approximate=False))
