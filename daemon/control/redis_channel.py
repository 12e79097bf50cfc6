"""The Redis Streams command channel of one fund.

Protocol (all fields are text, as `XADD` stores them):

- Commands: stream `paperfund:{fund}:commands`, one entry per command, field `command` = the
  command's JSON (the same model as `POST /v1/commands`), and `signature` = hex
  HMAC-SHA256 of those exact bytes when signing is configured. By hand::

      redis-cli XADD paperfund:demo:commands '*' command \\
          '{"type":"pause","command_id":"op-1","strategy_id":"trend"}'

- Replies: stream `paperfund:{fund}:replies` (trimmed to about `replies_maxlen` entries),
  one entry per reply with fields `command_id` (empty when the command had no trusted id),
  `entry` (the command's entry id), `status` (`accepted`, `applied` or `rejected`),
  `slice_index` (empty when none), `detail`, `duplicate` (`true` when the command id was
  seen before and this is the first command's outcome) and, for `status`, `data` (JSON).
  The sequence of replies is the one every transport gives (`daemon.control.service`);
  those of one batch are written after it, each command's together.

Delivery: a consumer group (`group`, created at the stream's start if missing) read as
`consumer`. An entry is acknowledged (`XACK`) only after its command is journaled and the
journal flushed, so a daemon that dies in between reads it again after a restart, and the
command id de-duplicates it: it is applied once and its first outcome is replied again.
Commands sent while the daemon is down wait in the stream. Connection loss, or a command
Redis refuses (an ACL that does not allow `XACK`, say): the channel retries with backoff
(`backoff_s` doubling up to `max_backoff_s`, forever) while the fund keeps trading, and is
reported disconnected meanwhile; it then first re-reads its own unacknowledged entries.

Trimming: after each acknowledged batch (and once its own backlog is served) the commands
stream is trimmed to the entries some consumer group has not yet received or acknowledged
(`daemon.control.stream_trim`), so it does not grow with the fund's age; a pending entry is
never removed. A Redis that refuses the trim (an ACL without `XTRIM` or `XINFO`) is logged
once and the channel works on untrimmed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from daemon import logs
from daemon.control.service import CommandService, Reply
from daemon.control.stream_trim import trim_acknowledged
from daemon.control.wire import command_stream, reply_stream
from daemon.redis_url import redact_url

_log = logs.get("paperfund.control.redis")

CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
Sleep = Callable[[float], Awaitable[None]]


def reply_fields(reply: Reply, entry_id: str) -> dict[str, str]:
    fields = {
        "command_id": reply.command_id or "",
        "entry": entry_id,
        "status": reply.status,
        "slice_index": "" if reply.slice_index is None else str(reply.slice_index),
        "detail": reply.detail,
        "duplicate": "true" if reply.duplicate else "false",
    }
    if reply.data is not None:
        fields["data"] = json.dumps(reply.data, sort_keys=True)
    return fields


class RedisCommandChannel:
    def __init__(
        self,
        service: CommandService,
        url: str,
        fund: str,
        *,
        flush: Callable[[], None],
        group: str = "paperfund",
        consumer: str = "paperfund-1",
        block_ms: int = 1000,
        batch: int = 100,
        backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        replies_maxlen: int = 100_000,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if block_ms < 1 or batch < 1 or not 0 < backoff_s <= max_backoff_s:
            raise ValueError("need block_ms >= 1, batch >= 1 and 0 < backoff_s <= max_backoff_s")
        self.service = service
        self.url = url
        self.commands = command_stream(fund)
        self.replies = reply_stream(fund)
        self.group, self.consumer = group, consumer
        self.block_ms, self.batch = block_ms, batch
        self._flush = flush
        self._backoff = (backoff_s, max_backoff_s)
        self._maxlen = replies_maxlen
        self._sleep = sleep
        self._client: aioredis.Redis | None = None
        self.connected = False
        self.outages = 0
        """Times the connection was lost (or could not be made at start)."""
        self.last_error: str | None = None
        self._stopping = False
        self._trim_refused = False

    @property
    def shown_url(self) -> str:
        return redact_url(self.url)

    def stop(self) -> None:
        """Ask `run` to return (within `block_ms`). Cancelling the task alone is not enough:
        a cancellation that lands inside the Redis client's own timeout can be lost."""
        self._stopping = True

    async def run(self) -> None:
        """Serve commands until `stop()`; never raises for a Redis outage."""
        failures = 0
        backlog = True  # re-read our own unacknowledged entries first
        while not self._stopping:
            try:
                if backlog:
                    await self._create_group()
                    while await self._serve("0"):
                        pass
                    backlog = False
                    await self._trim()
                self._set_connected(True)
                failures = 0
                await self._serve(">")
            except ResponseError as exc:
                backlog = True
                if "NOGROUP" in str(exc):
                    continue  # the server lost the group (restarted without its data)
                # refused (an ACL without XACK, say): not working, so not ready; retry
                self._set_connected(False, exc)
                failures += 1
                await self._sleep(self._delay(failures))
            except CONNECTION_ERRORS as exc:
                self._set_connected(False, exc)
                failures += 1
                backlog = True
                await self._sleep(self._delay(failures))
            except Exception as exc:  # a bug must not silence the channel: report, retry
                _log.exception("redis command channel failed", error=repr(exc))
                self._set_connected(False, exc)
                failures += 1
                backlog = True
                await self._sleep(self._delay(failures))

    def _delay(self, failures: int) -> float:
        base_s, cap_s = self._backoff
        return float(min(cap_s, base_s * 2 ** min(failures - 1, 32)))

    def _set_connected(self, up: bool, exc: BaseException | None = None) -> None:
        was, self.connected = self.connected, up
        if exc is not None:
            first = self.last_error is None
            self.last_error = f"{type(exc).__name__}: {exc}"
            if was or first:  # lost, or unreachable from the start
                self.outages += 1
                _log.warning(
                    "redis command channel disconnected",
                    url=self.shown_url,
                    error=self.last_error,
                    outages=self.outages,
                )
        elif up and not was and self.last_error is not None:
            _log.info("redis command channel reconnected", url=self.shown_url)

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            self._client = aioredis.Redis.from_url(
                self.url,
                decode_responses=False,  # a command's bytes are signed and parsed as sent
                retry=Retry(NoBackoff(), 0),  # this channel owns retrying
                socket_connect_timeout=5,
                socket_timeout=self.block_ms / 1000 + 5,
            )
        return self._client

    async def _create_group(self) -> None:
        try:
            await self._redis().xgroup_create(self.commands, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _serve(self, start: str) -> bool:
        """Read one batch (pending entries from `start` "0", or new ones for ">") and serve
        it; True when a backlog batch was full (more may follow)."""
        block = None if start == "0" else self.block_ms
        reply = await self._redis().xreadgroup(
            self.group, self.consumer, {self.commands: start}, count=self.batch, block=block
        )
        entries = _entries(reply)
        if entries:
            await self._handle(entries)
        return start == "0" and len(entries) == self.batch

    async def _handle(self, entries: list[tuple[str, Mapping[str, bytes]]]) -> None:
        """Run the batch's commands (in stream order), then flush the journal, reply, ack."""
        out: list[tuple[str, Reply]] = []

        async def one(entry_id: str, fields: Mapping[str, bytes]) -> None:
            payload = fields.get("command")
            if payload is None:
                out.append((entry_id, Reply(None, "rejected", detail="entry has no command field")))
                return
            try:
                await self.service.execute(
                    payload, _signature(fields), lambda r: out.append((entry_id, r))
                )
            except Exception as exc:  # one entry must not block the others forever
                _log.exception("command failed", entry=entry_id, error=repr(exc))
                out.append((entry_id, Reply(None, "rejected", detail="internal error")))

        await asyncio.gather(*(one(entry_id, fields) for entry_id, fields in entries))
        order = {entry_id: n for n, (entry_id, _) in enumerate(entries)}
        out.sort(key=lambda pair: order[pair[0]])  # each command's replies together, in order
        self._flush()  # a second guard: the supervisor flushes before it answers
        client = self._redis()
        pipe = client.pipeline(transaction=False)
        for entry_id, r in out:
            fields = cast(dict[Any, Any], reply_fields(r, entry_id))
            pipe.xadd(self.replies, fields, maxlen=self._maxlen, approximate=True)
        pipe.xack(self.commands, self.group, *(entry_id for entry_id, _ in entries))
        await pipe.execute()
        await self._trim()

    async def _trim(self) -> None:
        """Drop the command entries every group has acknowledged (see the module docstring)."""
        try:
            await trim_acknowledged(self._redis(), self.commands)
        except ResponseError as exc:
            if not self._trim_refused:
                _log.warning("commands stream not trimmed", stream=self.commands, error=str(exc))
            self._trim_refused = True
        else:
            self._trim_refused = False

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _entries(reply: Any) -> list[tuple[str, Mapping[str, bytes]]]:
    """(id, fields) of an XREADGROUP reply (RESP2 list or RESP3 map, one stream); ids and
    field names as text, values as the bytes that were sent."""
    per_stream = reply.values() if isinstance(reply, Mapping) else (s for _, s in reply or ())
    return [
        (_text(entry_id), {_text(k): bytes(v) for k, v in (fields or {}).items()})
        for entries in per_stream
        for entry_id, fields in entries
    ]


def _signature(fields: Mapping[str, bytes]) -> str | None:
    raw = fields.get("signature")
    return None if raw is None else raw.decode("ascii", errors="replace")


def _text(value: bytes | str) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")
