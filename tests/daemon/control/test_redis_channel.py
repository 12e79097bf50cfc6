"""The Redis command channel against a real `redis-server`: replies, acknowledgement after
journaling, commands waiting while the daemon is down, and a server restart mid-run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from config import FundSettings, feed_options
from core.records import StrategyState
from daemon.control.redis_channel import RedisCommandChannel, command_stream, reply_stream
from daemon.control.service import CommandService
from daemon.feeds import build_feed
from tests.support.fund import Fund, make_settings
from tests.support.redis_server import RedisServer, redis_server_binary

pytestmark = pytest.mark.system  # a real redis-server

FUND = "demo"
TIMEOUT_S = 10.0


@pytest.fixture
def server() -> Iterator[RedisServer]:
    binary = redis_server_binary()
    assert binary is not None, "tests/run.sh installs redis-server"
    with RedisServer(binary) as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path) -> FundSettings:
    return make_settings(tmp_path, bars=10_000)


class Running:
    """A fund on a paced feed (commands apply while it waits) with its command channel."""

    def __init__(self, fund: Fund, channel: RedisCommandChannel, client: aioredis.Redis) -> None:
        self.fund, self.channel, self.client = fund, channel, client
        self.last_reply = "0"

    async def send(self, **command: Any) -> str:
        entry = await self.client.xadd(command_stream(FUND), {"command": json.dumps(command)})
        return str(entry)

    async def replies(self, count: int) -> list[dict[str, str]]:
        """The next `count` replies (blocking reads, bounded by TIMEOUT_S)."""
        got: list[dict[str, str]] = []
        async with asyncio.timeout(TIMEOUT_S):
            while len(got) < count:
                answer = await self.client.xread({reply_stream(FUND): self.last_reply}, block=500)
                for _, entries in answer:
                    for entry_id, fields in entries:
                        self.last_reply = entry_id
                        got.append(fields)
        return got

    async def pending(self) -> int:
        return int((await self.client.xpending(command_stream(FUND), "paperfund"))["pending"])


@asynccontextmanager
async def serving(settings: FundSettings, state: Path, url: str) -> AsyncIterator[Running]:
    """The fund on a paced feed, its command channel on the Redis at `url`."""
    kind, options = feed_options(settings)
    options["speed"] = 86400 / 0.05  # a daily bar every 50 ms: the fund keeps trading
    stop = asyncio.Event()
    client = aioredis.Redis.from_url(url, decode_responses=True)
    async with Fund(settings, state) as fund, build_feed(kind, **options) as feed:
        service = CommandService(fund.sup, FUND)
        channel = RedisCommandChannel(
            service,
            url,
            FUND,
            flush=fund.store.flush,
            block_ms=100,
            backoff_s=0.02,
            max_backoff_s=0.1,
        )
        loop = asyncio.create_task(fund.sup.run(feed, stop))
        task = asyncio.create_task(channel.run())
        handle = Running(fund, channel, client)
        try:
            yield handle
        finally:
            channel.stop()
            await task
            stop.set()
            await loop
            await channel.aclose()
            await handle.client.aclose()


@pytest.fixture
async def running(
    settings: FundSettings, tmp_path: Path, server: RedisServer
) -> AsyncIterator[Running]:
    async with serving(settings, tmp_path / "state", server.url) as handle:
        yield handle


async def test_a_command_is_accepted_applied_and_acknowledged(running: Running) -> None:
    entry = await running.send(type="pause", command_id="p1", strategy_id="trend")
    accepted, applied = await running.replies(2)
    assert (accepted["status"], accepted["command_id"], accepted["entry"]) == (
        "accepted",
        "p1",
        entry,
    )
    assert int(accepted["slice_index"]) >= 0
    assert (applied["status"], applied["duplicate"]) == ("applied", "false")
    assert running.fund.sup._engine.book.records["trend"].state is StrategyState.PAUSED
    assert await running.pending() == 0


async def test_malformed_entries_are_rejected_and_acknowledged(running: Running) -> None:
    await running.client.xadd(command_stream(FUND), {"nothing": "here"})
    await running.client.xadd(command_stream(FUND), {"command": "{not json"})
    await running.send(type="resume", command_id="r1", strategy_id="trend")  # running already
    first, second, third, fourth = await running.replies(4)
    assert (first["status"], first["detail"]) == ("rejected", "entry has no command field")
    assert second["status"] == "rejected" and "Invalid JSON" in second["detail"]
    # a valid command that the fund refuses is journaled, then rejected with the reason
    assert (third["status"], third["command_id"]) == ("accepted", "r1")
    assert (fourth["status"], fourth["command_id"]) == ("rejected", "r1")
    assert "trend" in fourth["detail"]
    assert await running.pending() == 0
    assert running.fund.sup._engine.book.records["trend"].state is StrategyState.RUNNING


async def test_status_replies_with_data(running: Running) -> None:
    await running.send(type="status", command_id="s1")
    accepted, reply = await running.replies(2)
    assert (accepted["status"], reply["status"]) == ("accepted", "applied")
    data = json.loads(reply["data"])
    assert data["fund"] == "demo" and data["strategies"] == 3


async def test_commands_sent_while_the_daemon_is_down_apply_after_it_starts(
    settings: FundSettings, tmp_path: Path, server: RedisServer
) -> None:
    client = aioredis.Redis.from_url(server.url, decode_responses=True)
    command = {"type": "pause", "command_id": "early", "strategy_id": "momentum"}
    await client.xadd(command_stream(FUND), {"command": json.dumps(command)})
    await client.aclose()
    async with serving(settings, tmp_path / "state", server.url) as handle:
        accepted, applied = await handle.replies(2)
        assert (accepted["command_id"], applied["status"]) == ("early", "applied")
        state = handle.fund.sup._engine.book.records["momentum"].state
        assert state is StrategyState.PAUSED


async def test_a_redis_restart_mid_run_loses_no_command_and_the_fund_keeps_trading(
    running: Running, server: RedisServer
) -> None:
    await running.send(type="pause", command_id="before", strategy_id="trend")
    await running.replies(2)
    server.stop()
    sup = running.fund.sup
    at_outage = sup._engine.state.slice_index
    async with asyncio.timeout(TIMEOUT_S):
        while running.channel.connected or sup._engine.state.slice_index < at_outage + 5:
            await asyncio.sleep(0.01)  # polling a condition: the outage is seen, trading goes on
    server.start()
    running.last_reply = "0"  # the restarted server kept nothing
    await running.client.aclose()
    running.client = aioredis.Redis.from_url(server.url, decode_responses=True)
    await running.send(type="resume", command_id="after", strategy_id="trend")
    await running.send(type="resume", command_id="after", strategy_id="trend")  # a resend
    replies = await running.replies(4)
    entries = list(dict.fromkeys(r["entry"] for r in replies))  # in the order sent
    per_entry = [
        [(r["command_id"], r["status"], r["duplicate"]) for r in replies if r["entry"] == e]
        for e in entries
    ]
    assert per_entry == [
        [("after", "accepted", "false"), ("after", "applied", "false")],
        [("after", "accepted", "true"), ("after", "applied", "true")],  # not applied twice
    ]
    assert running.channel.outages >= 1 and running.channel.connected
    assert sup._engine.book.records["trend"].state is StrategyState.RUNNING
    journaled = [
        json.loads(r.payload)["command_id"]
        for r in running.fund.store.records()
        if r.kind == "command"
    ]
    assert journaled == ["before", "after"]
