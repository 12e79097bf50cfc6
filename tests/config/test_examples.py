"""The shipped example configs load, import their strategies and document every option."""

from __future__ import annotations

import re
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from config import (
    DEFAULT_CONFIG,
    EXAMPLES_DIR,
    FundSettings,
    build_algorithm,
    build_rebalancer,
    check_imports,
    load_settings,
)
from config.models import BarLimits, CcxtFeed, RedisFeed, ReplayFeed, SyntheticFeed
from core import EqualRiskContributionAllocation, RebalancingFrequency, RiskParityAllocation

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))


def test_both_examples_are_shipped() -> None:
    assert {p.name for p in EXAMPLES} >= {"demo.yaml", "replay-daily.yaml"}
    assert not (EXAMPLES_DIR / ".gitkeep").exists()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_loads_and_its_classes_import(path: Path) -> None:
    settings = load_settings(path, env={})
    classes = check_imports(settings)
    assert set(classes) >= {s.id for s in settings.strategies}


def test_the_embedded_default_is_the_demo_fund() -> None:
    settings = load_settings(None, env={})
    assert settings == load_settings(DEFAULT_CONFIG, env={})
    assert settings.fund.name == "demo"
    assert settings.fund.capital == Decimal("1000000")
    assert isinstance(settings.feed, SyntheticFeed)
    assert len(settings.feed.symbols) == 5
    assert (settings.feed.bars, settings.feed.seed) == (504, 7)
    assert [(s.id, s.allocation) for s in settings.strategies] == [
        ("trend", Decimal("0.25")),
        ("momentum", Decimal("0.25")),
        ("mean_reversion", Decimal("0.20")),
    ]
    constraints = settings.allocation.algorithm.constraints
    assert (constraints.default_max, constraints.max_total) == (Decimal("0.25"), Decimal("0.70"))
    assert settings.state.dir == Path("state/demo")
    assert set(settings.strategy_catalog()) == {"trend", "momentum", "mean_reversion", "slow_trend"}
    algorithm = build_algorithm(settings)
    assert isinstance(algorithm, RiskParityAllocation)
    assert algorithm.lookback_window == 63
    rebalancer = build_rebalancer(settings)
    assert rebalancer is not None
    assert rebalancer.frequency is RebalancingFrequency.MONTHLY
    assert rebalancer.cooldown_days == 7


def test_replay_example_replays_the_shipped_files_with_a_pairs_trade() -> None:
    settings = load_settings(EXAMPLES_DIR / "replay-daily.yaml", env={})
    feed = settings.feed
    assert isinstance(feed, ReplayFeed)
    assert isinstance(feed.paths, dict)
    assert set(feed.paths) == {"NVDA", "ORCL", "YHOO"}
    assert all((ROOT / p).is_file() for p in feed.paths.values())
    assert len(settings.strategies) == 4
    pairs = next(s for s in settings.strategies if s.class_path.endswith(":PairsTradingStrategy"))
    assert pairs.params["pairs"] == [["ORCL", "YHOO"]]
    assert isinstance(build_algorithm(settings), EqualRiskContributionAllocation)
    rebalancer = build_rebalancer(settings)
    assert rebalancer is not None
    assert rebalancer.drift_threshold == Decimal("0.05")


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):  # unions, Annotated, list[...], dict[..., ...]
        found += _models(arg)
    return found


def _option_names(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(field.alias or name)
        for sub in _models(field.annotation):
            names |= _option_names(sub, seen)
    return names


def test_every_option_is_documented_in_the_demo_config() -> None:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    words = set(re.findall(r"[A-Za-z_]+", text))
    names = _option_names(FundSettings, set())
    assert {"capital", "grace_period_s", "min_trade_cost", "kelly_fraction", "inner"} <= names
    assert sorted(names - words) == []


def _comment_block_before(text: str, option: str) -> str:
    """The comment lines just above the first `#   option:` line of the demo config."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip("# ").startswith(f"{option}:"))
    block = []
    for line in reversed(lines[:at]):
        if not line.lstrip().startswith("#   #"):
            break
        block.append(line)
    return " ".join(reversed(block))


def test_the_duplicate_rule_is_documented_as_the_validator_applies_it() -> None:
    text = _comment_block_before(DEFAULT_CONFIG.read_text(encoding="utf-8"), "duplicate_policy")
    assert "first bar is kept" in text
    assert "both" not in text  # the validator never drops the first of two bars


def test_documented_bar_limits_and_skew_are_the_defaults() -> None:
    from daemon.feeds.redis_stream import DEFAULT_MAX_AHEAD_S
    from daemon.feeds.validation import BarLimits as ValidatorLimits

    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    documented = re.findall(r"#   limits: (\{.*\})", text)
    assert len(documented) == 3  # the replay, Redis and ccxt feeds
    for line in documented:
        limits = yaml.safe_load(line)
        assert BarLimits.model_validate(limits) == BarLimits()
        assert ValidatorLimits.coerce(limits) == ValidatorLimits()
    assert re.findall(r"#   max_ahead_s: (\S+)", text) == [f"{DEFAULT_MAX_AHEAD_S:g}"] * 2
    assert RedisFeed.model_fields["max_ahead_s"].default == DEFAULT_MAX_AHEAD_S
    assert CcxtFeed.model_fields["max_ahead_s"].default == DEFAULT_MAX_AHEAD_S
