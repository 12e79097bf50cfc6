"""The control plane of a running fund, wired from its settings: the command service, the
HTTP API, the Redis command channel, readiness and metrics. Started before the fund recovers
(so `/healthz` answers and `/readyz` says it is recovering; commands received meanwhile wait
for the first slice boundary); closed when the slice loop ends."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Sequence
from typing import Any

from config import FundSettings
from daemon import logs
from daemon.control.health import Health
from daemon.control.http import Server, build_app, serve
from daemon.control.metrics import FundMetrics
from daemon.control.redis_channel import RedisCommandChannel
from daemon.control.service import CommandService
from daemon.persistence import StateStore
from daemon.supervisor import Supervisor

_log = logs.get("paperfund.control")


class ControlPlane:
    def __init__(
        self,
        settings: FundSettings,
        supervisor: Supervisor,
        store: StateStore,
        sockets: Sequence[socket.socket] = (),
    ) -> None:
        """`sockets`: the HTTP API's listening sockets, bound before the state was opened
        (`daemon.control.listen.bind`); none: bind `control.http` when starting."""
        control = settings.control
        self._sockets = sockets
        self.service = CommandService(supervisor, settings.fund.name, signing_key=control.key())
        self.channel: RedisCommandChannel | None = None
        url = control.redis.redis_url()
        if url is not None:
            redis = control.redis
            self.channel = RedisCommandChannel(
                self.service,
                url,
                settings.fund.name,
                flush=store.flush,
                group=redis.group,
                consumer=redis.consumer,
                block_ms=redis.block_ms,
                backoff_s=redis.backoff_s,
                max_backoff_s=redis.max_backoff_s,
            )
        connected = None if self.channel is None else self._redis_connected
        self.health = Health(supervisor, store, control.max_bar_age_s, connected)
        self.metrics = FundMetrics(
            supervisor, service=self.service, health=self.health, redis_connected=connected
        )
        self._settings = settings
        self._server: Server | None = None
        self._serving: asyncio.Task[None] | None = None

    def _redis_connected(self) -> bool:
        return self.channel is not None and self.channel.connected

    @property
    def http_url(self) -> str | None:
        """The HTTP API's base URL once it listens (the bound port, also with port 0)."""
        if self._server is None:
            return None
        host = self._settings.control.http.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self._server.port}"

    @property
    def command_stream(self) -> str | None:
        """The Redis stream commands are read from, when the Redis channel is configured."""
        return None if self.channel is None else self.channel.commands

    def attach_feed(self, feed: Any) -> None:
        self.metrics.feed_stats = getattr(feed, "stats", None)
        stale_after_s = getattr(feed, "stale_after_s", None)
        if self.health.max_bar_age_s is None and stale_after_s is not None:
            self.health.max_bar_age_s = stale_after_s  # a live feed says when it is stale

    async def start(self) -> None:
        http = self._settings.control.http
        if http.enabled:
            app = build_app(
                self.service, self.health, token=http.bearer_token(), metrics=self.metrics.render
            )
            self._server = await serve(app, http.host, http.port, sockets=self._sockets)
            _log.info("http api listening", host=http.host, port=self._server.port)
        if self.channel is not None:
            self._serving = asyncio.create_task(self.channel.run(), name="redis commands")
            _log.info(
                "redis command channel started",
                url=self.channel.shown_url,
                stream=self.channel.commands,
            )

    async def close(self) -> None:
        if self.channel is not None:
            self.channel.stop()
        if self._serving is not None:
            with contextlib.suppress(Exception):
                await self._serving
        if self.channel is not None:
            await self.channel.aclose()
        if self._server is not None:
            await self._server.close()
