"""A small real fund on hand-made slices: one symbol, chosen prices, chosen strategies, its
HTTP control plane served on loopback, for tests that need exact figures from the daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from core.market import Slice
from daemon.control.health import Health
from daemon.control.http import build_app, serve
from daemon.control.service import CommandService
from tests.core.helpers import market
from tests.support.fund import Fund, demo_config, settings_from


def small_fund_settings(
    tmp_path: Path,
    strategies: list[dict[str, Any]],
    *,
    capital: int = 100_000,
    rebalancer: dict[str, Any] | None = None,
    algorithm: dict[str, Any] | None = None,
) -> Any:
    data = demo_config()
    data["fund"]["capital"] = capital
    data["strategies"] = strategies
    data["allocation"] = {"rebalancer": rebalancer}
    if algorithm is not None:
        data["allocation"]["algorithm"] = algorithm
    return settings_from(data, tmp_path / "fund.yaml")


def price_slices(prices: list[str], symbol: str = "AAA") -> list[Slice]:
    """One flat bar of `symbol` per day at each price (volume 1,000,000)."""
    return [market(i, **{symbol: price}) for i, price in enumerate(prices)]


@asynccontextmanager
async def served(fund: Fund) -> AsyncIterator[aiohttp.ClientSession]:
    """The fund's control plane on a free loopback port; a client session on it."""
    service = CommandService(fund.sup, fund.settings.fund.name)
    app = build_app(service, Health(fund.sup, fund.store))
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        await serve(app, "127.0.0.1", 0) as server,
        aiohttp.ClientSession(server.url, timeout=timeout) as client,
    ):
        yield client


async def get_json(client: aiohttp.ClientSession, path: str) -> Any:
    async with client.get(path) as response:
        assert response.status == 200, await response.text()
        return await response.json()
