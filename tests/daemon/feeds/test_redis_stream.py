"""The Redis Stream feed against a real `redis-server` (or the one at `REDIS_URL`)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis.asyncio as aioredis

from core.market import Slice
from daemon.feeds import RedisStreamFeed, build_feed
from daemon.feeds.errors import FeedConfigError, FeedError
from tests.support.redis_server import RedisServer, free_port, redis_server_binary

pytestmark = pytest.mark.system  # a real redis-server

TIMEOUT_S = 5.0


def t(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """`REDIS_URL` when set, else a server of this module's own."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("redis-server is not on PATH and REDIS_URL is not set")
    with RedisServer(binary) as server:
        yield server.url


@pytest.fixture
def stream() -> str:
    return f"test:bars:{uuid.uuid4().hex}"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    conn = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield conn
    await conn.aclose()


async def publish(
    client: aioredis.Redis,
    stream: str,
    symbol: str,
    day: int,
    close: str = "10.5",
    **fields: str,
) -> str:
    entry = {"symbol": symbol, "ts": f"2024-01-{day:02d}T00:00:00Z"}
    entry |= {"open": "10", "high": "11", "low": "9", "close": close, "volume": "1000"}
    return str(await client.xadd(stream, entry | fields))  # type: ignore[arg-type]


async def next_slice(feed: RedisStreamFeed) -> Slice:
    return await asyncio.wait_for(anext(feed), TIMEOUT_S)


async def pending(client: aioredis.Redis, stream: str, group: str = "paperfund") -> int:
    return int((await client.xpending(stream, group))["pending"])


def make_feed(url: str, stream: str, **options: object) -> RedisStreamFeed:
    options = {"symbols": ["AAA", "BBB"], "grace_period_s": 60.0, "block_ms": 50} | options
    return RedisStreamFeed(url, stream, **options)  # type: ignore[arg-type]


async def test_slices_arrive_in_order_when_every_symbol_reported(
    redis_url: str, client: aioredis.Redis, stream: str
) -> None:
    for day in (2, 3):
        await publish(client, stream, "AAA", day, close="10.5")
        await publish(client, stream, "BBB", day, close="10.25")
    feed = make_feed(redis_url, stream)
    async with feed:
        first, second = await next_slice(feed), await next_slice(feed)
    assert [first.ts, second.ts] == [t(2), t(3)]
    assert set(first) == set(second) == {"AAA", "BBB"}
    assert first["AAA"].close == Decimal("10.5")
    assert first["BBB"].close == Decimal("10.25")
    assert first["BBB"].volume == Decimal(1000)
    assert feed.stats.slices == 2
    assert feed.stats.bars == 4


async def test_grace_period_closes_a_partial_slice(
    redis_url: str, client: aioredis.Redis, stream: str
) -> None:
    now = [0.0]
    await publish(client, stream, "AAA", 2)
    feed = make_feed(redis_url, stream, grace_period_s=5.0, clock=lambda: now[0])
    async with feed:
        task = asyncio.ensure_future(anext(feed))
        done, _ = await asyncio.wait({task}, timeout=0.3)
        assert not done, "the slice closed before its grace period"
        while not task.done():
            now[0] += 1.0
            await asyncio.wait({task}, timeout=0.05)
        market = task.result()
        assert market.ts == t(2)
        assert set(market) == {"AAA"}
        await publish(client, stream, "BBB", 3)
        await publish(client, stream, "AAA", 3)
        assert set(await next_slice(feed)) == {"AAA", "BBB"}


async def test_a_later_bar_of_a_symbol_closes_its_earlier_slice(
    redis_url: str, client: aioredis.Redis, stream: str
) -> None:
    await publish(client, stream, "AAA", 2)
    await publish(client, stream, "BBB", 2)
    await publish(client, stream, "AAA", 3)
    feed = make_feed(redis_url, stream, symbols=None)
    async with feed:
        market = await next_slice(feed)
        assert market.ts == t(2)
        assert set(market) == {"AAA", "BBB"}


async def test_bad_bars_are_counted_and_never_emitted(
    redis_url: str, client: aioredis.Redis, stream: str
) -> None:
    rejected: list[tuple[str, str]] = []
    await publish(client, stream, "CCC", 2)  # unknown_symbol
    await publish(client, stream, "AAA", 2, high="8")  # high_below_low
    await publish(client, stream, "AAA", 2)
    await publish(client, stream, "BBB", 2)  # completes the slice of day 2
    await publish(client, stream, "BBB", 2)  # duplicate of an emitted bar
    await publish(client, stream, "AAA", 1)  # out_of_order
    await publish(client, stream, "AAA", 3, ts="not a time")  # malformed
    await publish(client, stream, "AAA", 3, close="abc")  # non_finite
    await publish(client, stream, "AAA", 3)
    await publish(client, stream, "AAA", 3, close="10.75")  # duplicate, first one kept
    await publish(client, stream, "BBB", 3)
    feed = make_feed(redis_url, stream, on_reject=lambda r, s, ts, d: rejected.append((r, s)))
    async with feed:
        first, second = await next_slice(feed), await next_slice(feed)
        assert (first.ts, second.ts) == (t(2), t(3))
        assert set(first) == set(second) == {"AAA", "BBB"}
        assert first["AAA"].high == Decimal(11)
        assert second["AAA"].close == Decimal("10.5")
        counts = {reason: n for reason, n in feed.stats.rejected.items() if n}
        assert counts == {
            "unknown_symbol": 1,
            "high_below_low": 1,
            "duplicate": 2,
            "out_of_order": 1,
            "non_finite": 1,
            "malformed": 1,
        }
        assert len(rejected) == 7
        assert feed.malformed == 1
        assert await pending(client, stream) == 11
        assert await feed.ack_through(second.ts) == 11
        assert await pending(client, stream) == 0
        assert feed.unacked == 0


async def test_nothing_is_acked_until_ack_through_and_the_rest_is_redelivered(
    redis_url: str, client: aioredis.Redis, stream: str
) -> None:
    for day in (2, 3):
        await publish(client, stream, "AAA", day)
        await publish(client, stream, "BBB", day)
    feed = make_feed(redis_url, stream)
    async with feed:
        first, second = await next_slice(feed), await next_slice(feed)
        assert await pending(client, stream) == 4
        assert await feed.ack_through(first.ts) == 2
        assert await pending(client, stream) == 2
        assert second.ts == t(3)
    await publish(client, stream, "AAA", 4)
    await publish(client, stream, "BBB", 4)
    again = make_feed(redis_url, stream)
    async with again:
        redelivered = await next_slice(again)
        assert redelivered.ts == t(3)
        assert set(redelivered) == {"AAA", "BBB"}
        assert (await next_slice(again)).ts == t(4)
        assert await again.ack(redelivered) == 2
        assert await pending(client, stream) == 2


async def test_reconnects_after_a_server_restart_without_losing_a_bar(stream: str) -> None:
    binary = redis_server_binary()
    if os.environ.get("REDIS_URL") or binary is None:
        pytest.skip("needs a redis-server of its own to restart")
    server = RedisServer(binary)
    server.start()
    try:
        feed = make_feed(server.url, stream, backoff_s=0.02, max_backoff_s=0.2)
        async with feed:
            conn = aioredis.Redis.from_url(server.url, decode_responses=True)
            await publish(conn, stream, "AAA", 2)
            await publish(conn, stream, "BBB", 2)
            assert (await next_slice(feed)).ts == t(2)
            await publish(conn, stream, "AAA", 3)
            await conn.aclose()
            task = asyncio.ensure_future(anext(feed))
            for _ in range(200):  # until the feed has read the bar of day 3
                if feed.unacked == 3:
                    break
                await asyncio.wait({task}, timeout=0.01)
            assert feed.unacked == 3
            server.stop()
            await asyncio.wait({task}, timeout=0.2)
            server.start()
            conn = aioredis.Redis.from_url(server.url, decode_responses=True)
            await publish(conn, stream, "BBB", 3)
            market = await asyncio.wait_for(task, TIMEOUT_S)
            assert market.ts == t(3)
            assert set(market) == {"AAA", "BBB"}
            assert feed.reconnects >= 1
            assert feed.connection_errors >= 1
            await publish(conn, stream, "AAA", 4)
            await publish(conn, stream, "BBB", 4)
            assert (await next_slice(feed)).ts == t(4)
            await conn.aclose()
    finally:
        server.stop()


def test_build_feed_makes_a_redis_feed_from_its_settings() -> None:
    options = {"url": "redis://localhost:1/0", "stream": "s", "group": "g"}
    feed = build_feed("redis", **options, grace_period_s=0.5, symbols=None)
    assert isinstance(feed, RedisStreamFeed)
    assert (feed.stream, feed.group, feed.grace_period_s) == ("s", "g", 0.5)


async def test_gives_up_after_the_configured_attempts_without_showing_the_password() -> None:
    port = free_port()  # nothing listens there
    feed = make_feed(
        f"redis://fund:s3cret@127.0.0.1:{port}/0",
        "s",
        backoff_s=0.001,
        max_backoff_s=0.002,
        reconnect_attempts=3,
    )
    async with feed:
        with pytest.raises(FeedError, match="unreachable after 3 attempts") as raised:
            await next_slice(feed)
    assert "s3cret" not in str(raised.value)
    assert f"fund:***@127.0.0.1:{port}" in str(raised.value)
    assert feed.connection_errors == 4


def test_backoff_settings_are_checked() -> None:
    with pytest.raises(FeedConfigError, match="backoff_s"):
        make_feed("redis://localhost:1/0", "s", backoff_s=2.0, max_backoff_s=1.0)
    with pytest.raises(FeedConfigError, match="reconnect_attempts"):
        make_feed("redis://localhost:1/0", "s", reconnect_attempts=0)


async def test_far_future_huge_and_malformed_entries_are_rejected_by_reason(
    redis_url: str, client: aioredis.Redis, stream: str
) -> None:
    await publish(client, stream, "AAA", 2, ts="2999-01-01T00:00:00Z")  # future
    await publish(client, stream, "AAA", 2, open="1e999999999", high="1e999999999")
    await client.xadd(stream, {"ts": "2024-01-02", "close": "1"})  # no symbol
    await client.xadd(stream, {"symbol": "AAA", "close": "1"})  # no ts
    for day in (2, 3):
        await publish(client, stream, "AAA", day)
        await publish(client, stream, "BBB", day)
    feed = make_feed(redis_url, stream, wall_clock=lambda: t(4).timestamp())
    async with feed:
        first, second = await next_slice(feed), await next_slice(feed)
        assert (first.ts, second.ts) == (t(2), t(3))
        assert first["AAA"].open == Decimal(10)
        counts = {reason: n for reason, n in feed.stats.rejected.items() if n}
        assert counts == {"future": 1, "out_of_range": 1, "malformed": 2}
        assert await feed.ack_through(second.ts) == 8


async def test_the_allowed_skew_and_the_limits_are_options(
    redis_url: str, client: aioredis.Redis, stream: str
) -> None:
    await publish(client, stream, "AAA", 5, open="1e999999999", high="1e999999999")
    await publish(client, stream, "BBB", 5)
    feed = make_feed(
        redis_url,
        stream,
        wall_clock=lambda: t(4).timestamp(),
        max_ahead_s=86400.0,
        limits={"max_price": "1e999999999"},
    )
    async with feed:
        market = await next_slice(feed)
        assert market.ts == t(5)
        assert market["AAA"].open == Decimal("1e999999999")
        assert feed.stats.rejected_total == 0
