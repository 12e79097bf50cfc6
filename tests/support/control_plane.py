"""The demo fund running with its HTTP control plane on a free loopback port, fed by a gated
feed that releases slices on demand (each request for a slice is a barrier)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from core.market import Slice
from daemon.control.health import Health
from daemon.control.http import Metrics, Server, build_app, serve
from daemon.control.service import CommandService
from tests.support.fund import Fund, demo_slices, hosted_settings, make_settings

SLICES = 8
JSON = {"Content-Type": "application/json"}


class GatedFeed:
    """A live feed (it `waits`) that yields the slices a test releases. The supervisor asks
    for a slice only once the previous one is processed: each request is a barrier."""

    waits = True

    def __init__(self) -> None:
        self._slices: asyncio.Queue[Slice] = asyncio.Queue()
        self._asked = asyncio.Condition()
        self.requests = 0
        self.released = 0

    def __aiter__(self) -> GatedFeed:
        return self

    async def __anext__(self) -> Slice:
        async with self._asked:
            self.requests += 1
            self._asked.notify_all()
        return await self._slices.get()

    async def release(self, *slices: Slice) -> None:
        """Let `slices` through; return once the supervisor has processed them all."""
        for market in slices:
            self._slices.put_nowait(market)
        self.released += len(slices)
        async with self._asked:
            await self._asked.wait_for(lambda: self.requests > self.released)


@dataclass
class Control:
    fund: Fund
    service: CommandService
    health: Health
    feed: GatedFeed
    slices: list[Slice]
    server: Server
    client: aiohttp.ClientSession

    async def call(self, method: str, path: str, **options: Any) -> tuple[int, Any]:
        async with self.client.request(method, path, **options) as response:
            assert response.content_type == "application/json", await response.text()
            return response.status, await response.json()

    async def get(self, path: str, **options: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **options)

    async def post(
        self, command: dict[str, Any] | bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        body = command if isinstance(command, bytes) else json.dumps(command).encode()
        return await self.call("POST", "/v1/commands", data=body, headers=headers or JSON)


@asynccontextmanager
async def control(
    tmp_path: Path,
    *,
    token: str | None = None,
    signing_key: bytes | None = None,
    max_bar_age_s: float | None = None,
    metrics: Metrics | None = None,
    worker: str = "inprocess",
    catalog: dict[str, dict[str, Any]] | None = None,
) -> AsyncIterator[Control]:
    """The demo fund running on a gated feed, its control plane on a free loopback port;
    its strategies hosted by `worker`; `catalog`: extra entries (in-process only)."""
    if worker == "inprocess":
        settings = make_settings(tmp_path, SLICES, **(catalog or {}))
    else:
        settings = hosted_settings(tmp_path, SLICES, worker)
    slices = await demo_slices(settings)
    stop = asyncio.Event()
    async with Fund(settings, tmp_path / "state") as fund, asyncio.TaskGroup() as tasks:
        service = CommandService(fund.sup, settings.fund.name, signing_key=signing_key)
        health = Health(fund.sup, fund.store, max_bar_age_s=max_bar_age_s)
        app = build_app(service, health, token=token, metrics=metrics)
        feed = GatedFeed()
        tasks.create_task(fund.sup.run(feed, stop), name="slice loop")
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with (
                await serve(app, "127.0.0.1", 0) as server,
                aiohttp.ClientSession(server.url, timeout=timeout) as client,
            ):
                yield Control(fund, service, health, feed, slices, server, client)
        finally:
            stop.set()


def pause(command_id: str = "p1", strategy_id: str = "trend") -> dict[str, Any]:
    return {"type": "pause", "command_id": command_id, "strategy_id": strategy_id}
