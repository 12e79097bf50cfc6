"""A TOML file is read like its YAML equivalent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from config import ConfigError
from tests.config.support import MOMENTUM, TREND, Write, load, problems

TOML = f"""
history_bars = 64

[fund]
name = "toml-fund"
capital = "250000.25"

[feed]
kind = "synthetic"
symbols = ["X", "Y"]
start = 2024-03-01
interval = "1h"
bars = 48
seed = 3

[[strategies]]
id = "a"
class = "{TREND}"
params = {{ fast = 5, slow = 20 }}
allocation = 0.4

[[strategies]]
id = "b"
class = "{MOMENTUM}"
allocation = "0.3"
worker = "process"

[allocation.algorithm]
name = "risk_parity"
params = {{ lookback_window = 30 }}
constraints = {{ default_max = 0.5, strategy_min = {{ a = 0.1 }} }}

[allocation.rebalancer]
frequency = "weekly"
drift_threshold = 0.05

[ledger.commission]
kind = "per_share"
params = {{ cost = 0.01, min_trade_cost = 1 }}

[state]
dir = "./state/toml"
fsync = "off"
"""

YAML_EQUIVALENT = {
    "history_bars": 64,
    "fund": {"name": "toml-fund", "capital": "250000.25"},
    "feed": {
        "kind": "synthetic",
        "symbols": ["X", "Y"],
        "start": "2024-03-01",
        "interval": "1h",
        "bars": 48,
        "seed": 3,
    },
    "strategies": [
        {"id": "a", "class": TREND, "params": {"fast": 5, "slow": 20}, "allocation": 0.4},
        {"id": "b", "class": MOMENTUM, "allocation": "0.3", "worker": "process"},
    ],
    "allocation": {
        "algorithm": {
            "name": "risk_parity",
            "params": {"lookback_window": 30},
            "constraints": {"default_max": 0.5, "strategy_min": {"a": 0.1}},
        },
        "rebalancer": {"frequency": "weekly", "drift_threshold": 0.05},
    },
    "ledger": {"commission": {"kind": "per_share", "params": {"cost": 0.01, "min_trade_cost": 1}}},
    "state": {"dir": "./state/toml", "fsync": "off"},
}


def test_toml_and_yaml_give_the_same_settings(tmp_path: Path, write: Write) -> None:
    toml_path = tmp_path / "fund.toml"
    toml_path.write_text(TOML, encoding="utf-8")
    from_toml = load(toml_path)
    assert from_toml == load(write(YAML_EQUIVALENT))
    assert from_toml.fund.capital == Decimal("250000.25")
    assert from_toml.strategies[0].allocation == Decimal("0.4")


def test_toml_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "fund.toml"
    path.write_text(TOML.replace('capital = "250000.25"', "capital = -3"), encoding="utf-8")
    assert "fund.capital" in problems(path)


def test_toml_environment_overrides(tmp_path: Path) -> None:
    path = tmp_path / "fund.toml"
    path.write_text(TOML, encoding="utf-8")
    assert load(path, {"PAPERFUND_FUND__NAME": "env"}).fund.name == "env"
    with pytest.raises(ConfigError):
        load(path, {"PAPERFUND_HISTORY_BARS": "0"})
