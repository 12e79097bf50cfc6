"""Writing small configs for the settings tests."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import ConfigError, FundSettings, load_settings

MOMENTUM = "workers.strategies.momentum:MomentumStrategy"
TREND = "workers.strategies.moving_average:MovingAverageCrossover"

BASE: dict[str, Any] = {
    "fund": {"name": "test", "capital": 100000},
    "strategies": [
        {"id": "a", "class": TREND, "params": {"fast": 5, "slow": 20}, "allocation": 0.4},
        {"id": "b", "class": MOMENTUM, "allocation": "0.3"},
    ],
}


def config(**changes: Any) -> dict[str, Any]:
    """BASE with top-level sections replaced."""
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


Write = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    def _write(data: dict[str, Any], name: str = "fund.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return _write


def load(path: Path, env: dict[str, str] | None = None) -> FundSettings:
    return load_settings(path, env={} if env is None else env)


def problems(path: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """{field path: reason} of the ConfigError loading `path` raises."""
    with pytest.raises(ConfigError) as info:
        load(path, env)
    return {p.path: p.reason for p in info.value.problems}
