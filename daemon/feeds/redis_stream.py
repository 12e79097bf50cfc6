"""`RedisStreamFeed`: bars another process publishes to a Redis Stream, read as a consumer group.

Wire format: one stream entry per bar, with these fields (text, as `XADD` stores them):

- `symbol`: the instrument, e.g. `AAPL`.
- `ts`: ISO 8601 timestamp of the bar; naive means UTC (`2024-01-02`, `2024-01-02T00:00:00Z`).
- `open`, `high`, `low`, `close`: prices, parsed to Decimal from the text (never via float).
- `volume`: optional; absent or blank means unknown.

By hand::

    redis-cli XADD paperfund:bars '*' symbol AAPL ts 2024-01-02T00:00:00Z \\
        open 10 high 11 low 9 close 10.5 volume 1000

An entry without a parseable `symbol` or `ts` cannot be placed in time: it is rejected as
`malformed` (counted with the other rejections, and in `malformed`). Every other bar goes
through the `BarValidator` (`daemon.feeds.validation`): a rejected bar is counted and never
emitted. This feed is live: a bar dated more than `max_ahead_s` after the wall clock is
rejected as `future`, and `limits` bound prices, volumes and digits (`out_of_range`). An
entry rejected on arrival joins no slice and is acknowledged with the next `ack_through`.

Slices. Bars are grouped by `ts` into open slices. The open slice at `t` closes when

1. every symbol of `symbols` has a valid bar in it (only when `symbols` is given), or
2. `grace_period_s` have passed, on the injected `clock`, since its first entry arrived, or
3. a valid bar with a later timestamp arrives for a symbol that already has a bar in it
   (publishers send each symbol's bars in time order, so that symbol has moved on).

Closing the slice at `t` first closes every open slice older than `t`, so slices are emitted
in timestamp order. A bar at or before the last emitted slice's timestamp is rejected by the
validator (`out_of_order` or `duplicate`), which is why a publisher should send all symbols of
one timestamp before the next timestamp of any of them.

Delivery and acknowledgement. The group is created if missing (`XGROUP CREATE ... 0
MKSTREAM`: a new group reads the stream from its start). On start, and after every
reconnection, the feed first re-reads its own pending entries (id `0`: delivered before but
never acknowledged), then new ones (`>`). Yielding a slice does not acknowledge anything:
after journaling it, the consumer calls `await feed.ack_through(market.ts)` (or
`feed.ack(market)`), which `XACK`s every entry of the slices closed up to that timestamp,
rejected bars included. Unacknowledged entries are delivered again to the next feed with the
same group and consumer, so a crash between yield and journal loses nothing.

Connection loss: every Redis error of the connection kind is retried with exponential backoff
(`backoff_s` doubling up to `max_backoff_s`; forever by default, or at most
`reconnect_attempts` failures in a row, then `FeedError`). Bars already read stay in
memory; `reconnects` counts the recoveries and `connection_errors` the failed attempts. A
server restarted without persistence comes back with no group; it is created again.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import KeyT, StreamIdT

from core.market import Bar, Slice
from daemon.control.wire import stream_entries
from daemon.feeds.base import Clock, Feed, Sleep, backoff_delay_s, check_backoff
from daemon.feeds.errors import FeedConfigError, FeedError
from daemon.feeds.timestamps import to_utc
from daemon.feeds.validation import (
    BarLimits,
    BarValidator,
    DuplicatePolicy,
    RawBar,
    RejectHook,
)
from daemon.redis_url import redact_url

_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
DEFAULT_MAX_AHEAD_S = 300.0
"""How far after the wall clock a live bar may be dated: clock skew between publisher and
fund, with a wide margin."""
_ANY_TIME = datetime.min.replace(tzinfo=UTC)
"""Acknowledgement key of entries that belong to no slice: acked by any `ack_through`."""


@dataclass
class _OpenSlice:
    ts: datetime
    opened_at: float
    bars: list[Bar] = field(default_factory=list)
    symbols: set[str] = field(default_factory=set)
    ids: list[str] = field(default_factory=list)


def parse_entry(fields: Mapping[str, str]) -> RawBar | str:
    """The raw bar of one stream entry, or why it has no usable `symbol` or `ts`."""
    symbol = (fields.get("symbol") or "").strip()
    stamp = fields.get("ts")
    if not symbol:
        return "no symbol"
    if not stamp:
        return "no ts"
    try:
        ts = to_utc(stamp)
    except ValueError:
        return f"unparseable ts {stamp[:64]!r}"
    return RawBar(
        ts,
        symbol,
        fields.get("open"),
        fields.get("high"),
        fields.get("low"),
        fields.get("close"),
        fields.get("volume"),
    )


class RedisStreamFeed(Feed):
    """Slices from a Redis Stream consumer group; see the module doc for the wire format, the
    slice-closing rule and acknowledgement.

    - `url`, `stream`, `group`, `consumer`: where to read, and as whom.
    - `symbols`: the subscribed universe (other symbols are rejected as `unknown_symbol`), or
      None to accept any symbol; then slices close only by the grace period or rule 3.
    - `grace_period_s`: how long an incomplete slice waits for its missing symbols.
    - `block_ms`: longest single blocking read; `batch`: entries per read.
    - `validator`, `duplicate_policy`, `on_reject`, `limits`: as for `ReplayFeed` (a given
      validator overrides `symbols`, `limits` and `max_ahead_s` for validation).
    - `max_ahead_s`: bars dated more than this many seconds after `wall_clock()` (Unix
      seconds) are rejected as `future`.
    - `clock`, `sleep`: injected time (grace period, backoff).
    - `backoff_s`, `max_backoff_s`, `reconnect_attempts`: the reconnection budget: waits
      double from `backoff_s` up to `max_backoff_s`; after `reconnect_attempts` failures in a
      row the feed raises `FeedError` (None, the default: it never gives up).
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        stream: str = "paperfund:bars",
        group: str = "paperfund",
        consumer: str = "paperfund-1",
        *,
        symbols: Iterable[str] | None = None,
        grace_period_s: float = 1.0,
        block_ms: int = 1000,
        batch: int = 500,
        validator: BarValidator | None = None,
        duplicate_policy: DuplicatePolicy = "reject",
        on_reject: RejectHook | None = None,
        limits: BarLimits | Mapping[str, Any] | None = None,
        max_ahead_s: float = DEFAULT_MAX_AHEAD_S,
        wall_clock: Callable[[], float] = time.time,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        reconnect_attempts: int | None = None,
    ) -> None:
        super().__init__()
        if not math.isfinite(grace_period_s) or grace_period_s < 0:
            raise FeedConfigError(f"grace_period_s must be >= 0, got {grace_period_s!r}")
        if block_ms < 1 or batch < 1 or (reconnect_attempts is not None and reconnect_attempts < 1):
            raise FeedConfigError("block_ms, batch and reconnect_attempts must be >= 1")
        check_backoff(backoff_s, max_backoff_s)
        if isinstance(symbols, str):
            symbols = [symbols]
        self.url, self.stream, self.group, self.consumer = url, stream, group, consumer
        self.symbols = None if symbols is None else frozenset(symbols)
        self.grace_period_s = float(grace_period_s)
        self.block_ms, self.batch = block_ms, batch
        self._use_validator(
            validator, self.symbols, duplicate_policy, on_reject, limits, max_ahead_s, wall_clock
        )
        self._clock, self._sleep = clock, sleep
        self._backoff = (backoff_s, max_backoff_s, reconnect_attempts)
        self.malformed = 0
        self.reconnects = 0
        self.connection_errors = 0
        self._client: aioredis.Redis | None = None
        self._open: dict[datetime, _OpenSlice] = {}
        self._ready: deque[Slice] = deque()
        self._closed: list[tuple[datetime, list[str]]] = []
        self._held: set[str] = set()
        self._group_ready = False

    @property
    def waits(self) -> bool:
        return True  # bars arrive when another process publishes them

    # ---- the async side: reading, acknowledging, reconnecting -------------------------------
    def slices(self) -> AsyncIterator[Slice]:
        return self._run()

    async def _run(self) -> AsyncIterator[Slice]:
        cursor: str | None = None  # the pending-entries cursor; None once they are read
        failures = 0
        while True:
            self._close_due()
            while self._ready:
                market = self._ready.popleft()
                self.stats.record(market)
                yield market
            try:
                if not self._group_ready:
                    await self._create_group()
                    cursor = "0"
                cursor = await self._read(cursor)
            except _CONNECTION_ERRORS as exc:
                failures += 1
                self._group_ready = False
                await self._back_off(failures, exc)
                continue
            if failures:
                self.reconnects += 1
                failures = 0

    async def _create_group(self) -> None:
        try:
            await self._redis().xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def _read(self, backlog: str | None) -> str | None:
        """One read: pending entries after `backlog`, else new ones; the next cursor."""
        client = self._redis()
        streams: dict[KeyT, StreamIdT] = {self.stream: backlog if backlog is not None else ">"}
        block = None if backlog is not None else self._block_ms()
        try:
            reply = await client.xreadgroup(
                self.group, self.consumer, streams, count=self.batch, block=block
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False  # the server lost it (restarted without its data)
            return None
        entries = stream_entries(reply)
        for entry_id, fields in entries:
            self._take(entry_id, fields)
        if backlog is not None:
            return entries[-1][0] if entries else None
        return None

    async def _back_off(self, failures: int, exc: BaseException) -> None:
        self.connection_errors += 1
        base_s, cap_s, attempts = self._backoff
        if attempts is not None and failures > attempts:
            raise FeedError(
                f"redis feed: {redact_url(self.url)} unreachable after {attempts} attempts: {exc}"
            ) from exc
        await self._sleep(backoff_delay_s(failures, base_s, cap_s))

    def _block_ms(self) -> int:
        if not self._open:
            return self.block_ms
        first = min(pending.opened_at for pending in self._open.values())
        left_s = first + self.grace_period_s - self._clock()
        return max(1, min(self.block_ms, math.ceil(left_s * 1000)))

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            self._client = aioredis.Redis.from_url(
                self.url,
                decode_responses=True,
                retry=Retry(NoBackoff(), 0),  # this feed owns retrying, with its own budget
                socket_connect_timeout=5,
                socket_timeout=self.block_ms / 1000 + 5,
            )
        return self._client

    async def ack_through(self, ts: datetime) -> int:
        """XACK every entry of the slices closed up to `ts` (rejected bars and malformed
        entries included); the number Redis acknowledged. Call after journaling the slice at
        `ts`. On a connection error the entries are kept for the next call and it re-raises."""
        due = [(key, ids) for key, ids in self._closed if key <= ts]
        if not due:
            return 0
        self._closed = [(key, ids) for key, ids in self._closed if key > ts]
        ids = [entry_id for _, group in due for entry_id in group]
        try:
            acked = int(await self._redis().xack(self.stream, self.group, *ids))
        except _CONNECTION_ERRORS:
            self._closed[:0] = due
            raise
        self._held.difference_update(ids)
        return acked

    async def ack(self, market: Slice) -> int:
        """`ack_through(market.ts)`."""
        return await self.ack_through(market.ts)

    @property
    def unacked(self) -> int:
        """Entries read and not acknowledged yet (open slices included)."""
        return len(self._held)

    async def aclose(self) -> None:
        await super().aclose()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # ---- the synchronous side: grouping entries into slices ---------------------------------
    def _take(self, entry_id: str, fields: Mapping[str, str]) -> None:
        if entry_id in self._held:
            return  # re-read after a reconnection; it is already here
        self._held.add(entry_id)
        row = parse_entry(fields)
        if isinstance(row, str):
            self.malformed += 1
            self.validator.reject_malformed((fields.get("symbol") or "")[:64], row)
            self._closed.append((_ANY_TIME, [entry_id]))
            return
        last = self.validator.last_ts
        if last is not None and row.ts <= last:
            self.validator.make_slice(row.ts, [row])  # counts it: out_of_order or duplicate
            self._closed.append((last, [entry_id]))
            return
        bar = self.validator.to_bar(row)
        if bar is None:
            # rejected and counted; it joins no slice, so it opens none (a bar from the far
            # future would hold that slice open, then close every real one with it)
            self._closed.append((_ANY_TIME, [entry_id]))
            return
        moved_on = [t for t, p in self._open.items() if t < bar.ts and bar.symbol in p.symbols]
        if moved_on:
            self._close_through(max(moved_on))
        pending = self._open.get(row.ts)
        if pending is None:
            pending = self._open[row.ts] = _OpenSlice(row.ts, self._clock())
        pending.ids.append(entry_id)
        pending.bars.append(bar)
        pending.symbols.add(bar.symbol)
        if self.symbols is not None and self.symbols <= pending.symbols:
            self._close_through(row.ts)

    def _close_due(self) -> None:
        now = self._clock()
        due = [t for t, p in self._open.items() if p.opened_at + self.grace_period_s <= now]
        if due:
            self._close_through(max(due))

    def _close_through(self, ts: datetime) -> None:
        for key in sorted(t for t in self._open if t <= ts):
            pending = self._open.pop(key)
            market = self.validator.make_slice(key, pending.bars)
            self._closed.append((key, pending.ids))
            if market is not None:
                self._ready.append(market)
