"""A real fund (supervisor, state store, workers from the demo configuration) for tests
that drive it slice by slice and send it commands between slices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from config import FundSettings, feed_options, load_settings
from core.market import Slice
from daemon.app import fund_plan, worker_maker
from daemon.commands import parse_command
from daemon.digest import fund_digest
from daemon.feeds import build_feed
from daemon.persistence import StateStore
from daemon.supervisor import Outcome, Supervisor

ROOT = Path(__file__).resolve().parents[2]


def demo_config(**changes: Any) -> dict[str, Any]:
    """The demo configuration as a mapping, with top-level sections replaced by `changes`."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "config/examples/demo.yaml").read_text())
    data.update(changes)
    return data


def settings_from(data: dict[str, Any], path: Path) -> FundSettings:
    path.write_text(yaml.safe_dump(data))
    return load_settings(path)


def make_settings(tmp_path: Path, bars: int = 80, **catalog: dict[str, Any]) -> FundSettings:
    """The demo fund with `bars` slices and extra catalog entries."""
    data = demo_config()
    data["catalog"] |= catalog
    data["feed"]["bars"] = bars
    return settings_from(data, tmp_path / "fund.yaml")


def hosted_settings(
    tmp_path: Path,
    bars: int,
    worker: str,
    shards: int = 2,
    statistics: str = "shards",
    algorithm: dict[str, Any] | None = None,
) -> FundSettings:
    """The demo fund with `bars` slices, every strategy (the catalog's too) hosted by
    `worker`, in `shards` shards when that is `shard`, their statistics updated where
    `statistics` says (`workers.statistics`); `algorithm` replaces the demo's."""
    data = demo_config()
    if algorithm is not None:
        data["allocation"]["algorithm"] = algorithm
    data["feed"]["bars"] = bars
    for strategy in [*data["strategies"], *data["catalog"].values()]:
        strategy["worker"] = worker
    data["workers"] = {"shards": shards, "statistics": statistics}
    return settings_from(data, tmp_path / f"{worker}-{statistics}.yaml")


async def demo_slices(settings: FundSettings) -> list[Slice]:
    kind, options = feed_options(settings)
    async with build_feed(kind, **options) as feed:
        return [s async for s in feed]


class Fund:
    """A supervisor on a state directory, fed slice by slice, commands sent between them."""

    def __init__(self, settings: FundSettings, state: Path) -> None:
        self.settings = settings
        self.store = StateStore.open(state, "every_slice")
        self.sup = Supervisor(fund_plan(settings), self.store, worker_maker(settings))

    async def __aenter__(self) -> Fund:
        await self.sup.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sup.close()
        self.store.close()

    async def send(self, **command: Any) -> Outcome:
        future = self.sup.submit(parse_command(json.dumps(command)))  # as the channels parse
        await self.sup._drain_commands()  # what the slice loop does at the next boundary
        return future.result()

    async def digest(self) -> str:
        return await fund_digest(self.sup._engine)
