"""The commands stream is trimmed behind what is journaled and acknowledged, against a real
`redis-server`: it does not grow with the number of commands, and an entry still pending
(delivered to a consumer that has not acknowledged it) or not yet read by another consumer
group is never removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from config import FundSettings
from core.records import StrategyState
from daemon.control.redis_channel import command_stream
from tests.daemon.control.test_redis_channel import (  # noqa: F401 (fixtures)
    FUND,
    Running,
    running,
    server,
    serving,
    settings,
)
from tests.support.redis_server import RedisServer, redis_server_binary

pytestmark = pytest.mark.system  # a real redis-server

STREAM = command_stream(FUND)


async def barrier(handle: Running) -> list[str]:
    """Two status commands, each waited for: the channel trims after replying to a batch, so
    once the second is answered, the first one's batch has been trimmed with the stream's
    state as it was when the first was sent. Returns their entry ids."""
    entries = []
    for _ in range(2):
        entries.append(await handle.send(type="status", command_id=f"barrier-{handle.last_reply}"))
        accepted, final = await handle.replies(2)
        assert (accepted["status"], final["status"]) == ("accepted", "applied")
    return entries


async def entry_ids(client: aioredis.Redis) -> list[str]:
    return [str(entry_id) for entry_id, _ in await client.xrange(STREAM)]


async def test_acknowledged_commands_are_trimmed_from_the_stream(
    running: Running,  # noqa: F811
) -> None:
    sent = []
    for n in range(20):
        kind = "pause" if n % 2 == 0 else "resume"
        sent.append(await running.send(type=kind, command_id=f"c{n}", strategy_id="trend"))
    replies = await running.replies(40)
    assert [r["status"] for r in replies].count("applied") == 20
    last = (await barrier(running))[-1]
    left = await entry_ids(running.client)
    assert set(left) <= {last}, left  # only the last barrier may still be there
    assert await running.client.xlen(STREAM) <= 1
    assert await running.pending() == 0
    assert running.fund.sup._engine.book.records["trend"].state is StrategyState.RUNNING


async def test_pending_and_unread_entries_are_never_trimmed(
    settings: FundSettings,  # noqa: F811
    tmp_path: Path,
    server: RedisServer,  # noqa: F811
) -> None:
    client = aioredis.Redis.from_url(server.url, decode_responses=True)
    commands = [
        {"type": "pause", "command_id": f"early-{sid}", "strategy_id": sid}
        for sid in ("trend", "momentum", "mean_reversion")
    ]
    early = [await client.xadd(STREAM, {"command": json.dumps(c)}) for c in commands]
    await client.xgroup_create(STREAM, "paperfund", id="0")
    # another consumer of the daemon's group takes the first entry and stalls
    await client.xreadgroup("paperfund", "stalled", {STREAM: ">"}, count=1)
    async with serving(settings, tmp_path / "state", server.url) as handle:
        replies = await handle.replies(4)  # the other two: accepted and applied each
        assert {r["command_id"] for r in replies} == {"early-momentum", "early-mean_reversion"}
        await barrier(handle)
        left = await entry_ids(handle.client)
        assert left[:3] == early  # the stalled entry and all after it stay
        pending = await handle.client.xpending(STREAM, "paperfund")
        assert (pending["pending"], pending["min"]) == (1, early[0])

        # the stalled consumer acknowledges; a second group has read only the first two
        await handle.client.xack(STREAM, "paperfund", early[0])
        await handle.client.xgroup_create(STREAM, "audit", id=early[1])
        await barrier(handle)
        left = await entry_ids(handle.client)
        assert left[0] == early[2] and len(left) >= 3  # unread by "audit": kept

        # once that group has read and acknowledged everything, all of it goes
        read = await handle.client.xreadgroup("audit", "auditor", {STREAM: ">"})
        await handle.client.xack(STREAM, "audit", *(entry for entry, _ in read[0][1]))
        read_ids = [entry for entry, _ in read[0][1]]
        unread = await barrier(handle)  # sent after the audit group's read
        left = await entry_ids(handle.client)
        assert set(left) <= set(unread), left
        assert not set(read_ids) & set(left)
    await client.aclose()


async def test_a_redis_that_refuses_the_trim_still_serves_commands(
    settings: FundSettings,  # noqa: F811
    tmp_path: Path,
) -> None:
    binary = redis_server_binary()
    assert binary is not None, "tests/run.sh installs redis-server"
    no_trim = ("--user", "paperfund", "on", ">secret-pw", "~*", "&*", "+@all", "-xtrim")
    default = ("--user", "default", "on", "nopass", "~*", "&*", "+@all")
    with RedisServer(binary, args=[*no_trim, *default]) as limited:
        url = f"redis://paperfund:secret-pw@127.0.0.1:{limited.port}/0"
        async with serving(settings, tmp_path / "state", url) as handle:
            for n in range(3):
                await handle.send(type="pause", command_id=f"p{n}", strategy_id="trend")
            replies = await handle.replies(6)
            assert [r["status"] for r in replies].count("accepted") == 3
            await barrier(handle)
            assert await handle.pending() == 0  # acknowledged all the same
            assert await handle.client.xlen(STREAM) == 5  # nothing trimmed
            assert handle.channel.connected
