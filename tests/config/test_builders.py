"""The builders turn settings into the right core objects with the right parameters."""

from __future__ import annotations

import importlib.metadata
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from config import (
    ConfigError,
    build_algorithm,
    build_ledger_models,
    build_rebalancer,
    check_imports,
    resolve_strategy_class,
)
from config.builders import feed_options
from config.strategies import ENTRY_POINT_GROUP, strategy_class_path
from core import (
    AllocationConstraints,
    BasisPoints,
    DrawdownBasedAllocation,
    DynamicAllocation,
    EqualRiskContributionAllocation,
    FillModel,
    FixedAllocation,
    FixedBasisPoints,
    HierarchicalRiskParityAllocation,
    KellyCriterionAllocation,
    NoCommission,
    NoSlippage,
    PerShare,
    PerTrade,
    RebalancingFrequency,
    RiskParityAllocation,
    VolatilityTargeting,
    VolumeShareSlippage,
)
from core.money import ONE
from tests.config.support import Write, config, load
from workers.strategies import MomentumStrategy


def _algorithm(write: Write, algorithm: dict[str, Any]) -> Any:
    return build_algorithm(load(write(config(allocation={"algorithm": algorithm}))))


def test_fixed_without_allocations_uses_the_strategies(write: Write) -> None:
    algorithm = build_algorithm(load(write(config())))
    assert isinstance(algorithm, FixedAllocation)
    assert algorithm.allocations == {"a": Decimal("0.4"), "b": Decimal("0.3")}


def test_fixed_with_allocations_and_constraints(write: Write) -> None:
    algorithm = _algorithm(
        write,
        {
            "name": "fixed",
            "params": {"allocations": {"a": "0.25", "b": 0.5}},
            "constraints": {"default_max": 0.6, "strategy_max": {"b": 0.5}, "max_total": 0.9},
        },
    )
    assert isinstance(algorithm, FixedAllocation)
    assert algorithm.allocations == {"a": Decimal("0.25"), "b": Decimal("0.5")}
    assert algorithm.constraints == AllocationConstraints(
        default_max=Decimal("0.6"), strategy_max={"b": Decimal("0.5")}, max_total=Decimal("0.9")
    )


@pytest.mark.parametrize(
    ("spec", "cls", "attributes"),
    [
        (
            {"name": "dynamic", "params": {"lookback_window": 30, "min_allocation": 0.1}},
            DynamicAllocation,
            {"lookback_window": 30, "min_allocation": 0.1, "min_observations": 20},
        ),
        (
            {"name": "risk_parity", "params": {"min_volatility": 0.02, "min_observations": 5}},
            RiskParityAllocation,
            {"lookback_window": 252, "min_volatility": 0.02, "min_observations": 5},
        ),
        (
            {
                "name": "kelly",
                "params": {"kelly_fraction": 0.25, "use_covariance": True, "shrinkage": True},
            },
            KellyCriterionAllocation,
            {"kelly_fraction": 0.25, "use_covariance": True, "shrinkage": True},
        ),
        (
            {"name": "drawdown", "params": {"max_drawdown_threshold": 0.3, "lookback_window": 50}},
            DrawdownBasedAllocation,
            {"max_drawdown_threshold": 0.3, "recovery_bonus": 0.1, "lookback_window": 50},
        ),
        (
            {
                "name": "equal_risk_contribution",
                "params": {"risk_budgets": {"a": 2, "b": 1}, "shrinkage": "ledoit_wolf"},
            },
            EqualRiskContributionAllocation,
            {"risk_budgets": {"a": 2.0, "b": 1.0}, "shrinkage": True},
        ),
        (
            {"name": "hierarchical_risk_parity", "params": {"lookback_window": 100}},
            HierarchicalRiskParityAllocation,
            {"lookback_window": 100, "shrinkage": False},
        ),
    ],
)
def test_each_algorithm_gets_its_params(
    write: Write, spec: dict[str, Any], cls: type, attributes: dict[str, Any]
) -> None:
    algorithm = _algorithm(write, spec)
    assert type(algorithm) is cls
    assert {name: getattr(algorithm, name) for name in attributes} == attributes


def test_volatility_targeting_wraps_its_inner_algorithm(write: Write) -> None:
    algorithm = _algorithm(
        write,
        {
            "name": "volatility_targeting",
            "params": {
                "inner": {"name": "risk_parity", "params": {"lookback_window": 40}},
                "target_volatility": 0.1,
                "max_leverage": 1,
            },
            "constraints": {"max_total": 0.8},
        },
    )
    assert isinstance(algorithm, VolatilityTargeting)
    assert (algorithm.target_volatility, algorithm.max_leverage) == (0.1, 1.0)
    assert algorithm.constraints.max_total == Decimal("0.8")
    assert isinstance(algorithm.inner_algorithm, RiskParityAllocation)
    assert algorithm.inner_algorithm.lookback_window == 40


def test_inner_algorithm_errors_name_their_path(write: Write) -> None:
    data = config(
        allocation={
            "algorithm": {
                "name": "volatility_targeting",
                "params": {"inner": {"name": "kelly", "params": {"bogus": 1}}},
            }
        }
    )
    with pytest.raises(ConfigError) as info:
        load(write(data))
    paths = {p.path for p in info.value.problems}
    assert paths == {
        "allocation.algorithm.params.inner.params.bogus",
        "allocation.algorithm.params.target_volatility",
    }


def test_no_rebalancer_unless_configured(write: Write) -> None:
    assert build_rebalancer(load(write(config()))) is None


def test_rebalancer_params_and_default_cooldown(write: Write) -> None:
    allocation = {
        "algorithm": {"name": "risk_parity"},
        "rebalancer": {"frequency": "weekly", "drift_threshold": 0.05, "min_transfer_pct": 0.01},
    }
    rebalancer = build_rebalancer(load(write(config(allocation=allocation))))
    assert rebalancer is not None
    assert rebalancer.frequency is RebalancingFrequency.WEEKLY
    assert rebalancer.cooldown_days == 1  # the weekly default
    assert rebalancer.drift_threshold == Decimal("0.05")
    assert rebalancer.min_transfer_pct == Decimal("0.01")
    assert isinstance(rebalancer.algorithm, RiskParityAllocation)


def test_rebalancer_explicit_cooldown(write: Write) -> None:
    allocation = {"rebalancer": {"frequency": "quarterly", "cooldown_days": 0.5}}
    rebalancer = build_rebalancer(load(write(config(allocation=allocation))))
    assert rebalancer is not None
    assert rebalancer.cooldown_days == 0.5


def test_default_ledger_models_match_the_ledger_defaults(write: Write) -> None:
    assert build_ledger_models(load(write(config()))) == (NoCommission(), NoSlippage(), FillModel())
    fill = build_ledger_models(load(write(config())))[2]
    assert fill.lot_size is ONE  # the config's "1" takes the whole-share path of `lots`


@pytest.mark.parametrize(
    ("commission", "expected"),
    [
        ({"kind": "none"}, NoCommission()),
        ({"kind": "per_share"}, PerShare()),
        (
            {"kind": "per_share", "params": {"cost": "0.01", "min_trade_cost": 2}},
            PerShare(Decimal("0.01"), Decimal("2")),
        ),
        ({"kind": "per_trade", "params": {"cost": 4.95}}, PerTrade(Decimal("4.95"))),
        ({"kind": "basis_points", "params": {"bps": 2}}, BasisPoints(Decimal("2"))),
    ],
)
def test_commission_models(write: Write, commission: dict[str, Any], expected: object) -> None:
    settings = load(write(config(ledger={"commission": commission})))
    assert build_ledger_models(settings)[0] == expected


@pytest.mark.parametrize(
    ("slippage", "expected"),
    [
        ({"kind": "none"}, NoSlippage()),
        ({"kind": "fixed_basis_points", "params": {"bps": 3}}, FixedBasisPoints(Decimal("3"))),
        ({"kind": "volume_share"}, VolumeShareSlippage()),
        (
            {"kind": "volume_share", "params": {"price_impact": 0.2}},
            VolumeShareSlippage(Decimal("0.2")),
        ),
    ],
)
def test_slippage_models(write: Write, slippage: dict[str, Any], expected: object) -> None:
    settings = load(write(config(ledger={"slippage": slippage})))
    assert build_ledger_models(settings)[1] == expected


def test_fill_model(write: Write) -> None:
    fill = {"kind": "next_bar", "params": {"volume_limit": None, "lot_size": "0.001"}}
    settings = load(write(config(ledger={"fill": fill})))
    assert build_ledger_models(settings)[2] == FillModel(None, Decimal("0.001"))


def test_feed_options_for_the_synthetic_feed(write: Write) -> None:
    feed = {"kind": "synthetic", "symbols": ["X"], "interval": "15m", "bars": 3, "speed": 60}
    kind, options = feed_options(load(write(config(feed=feed))))
    assert kind == "synthetic"
    assert options["symbols"] == ["X"]
    assert options["interval"] == timedelta(minutes=15)
    assert (options["bars"], options["speed"]) == (3, 60)


def test_feed_options_for_a_replay(write: Write) -> None:
    feed = {"kind": "replay", "paths": {"X": "x.csv"}, "columns": {"date": "Datetime"}}
    kind, options = feed_options(load(write(config(feed=feed))))
    assert kind == "replay"
    assert {k: str(v) for k, v in options["paths"].items()} == {"X": "x.csv"}
    assert options["columns"]["date"] == "Datetime"


def test_check_imports_returns_every_class_by_catalog_name(write: Write) -> None:
    data = config(catalog={"spare": {"class": "workers.strategies.momentum:MomentumStrategy"}})
    classes = check_imports(load(write(data)))
    assert set(classes) == {"a", "b", "spare"}
    assert classes["spare"] is MomentumStrategy


def test_entry_point_names_resolve_without_importing(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = importlib.metadata.EntryPoint(
        name="momentum",
        value="workers.strategies.momentum:MomentumStrategy",
        group=ENTRY_POINT_GROUP,
    )

    def entry_points(group: str, name: str) -> importlib.metadata.EntryPoints:
        return importlib.metadata.EntryPoints([entry]).select(group=group, name=name)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    assert strategy_class_path("momentum") == entry.value
    assert resolve_strategy_class("momentum") is MomentumStrategy
    with pytest.raises(ImportError, match="entry point"):
        resolve_strategy_class("other")


def test_feed_options_carry_bar_limits_and_the_allowed_skew(write: Write) -> None:
    from daemon.feeds import build_feed

    limits = {"max_price": "1e6", "max_digits": 12}
    feed = {"kind": "redis", "max_ahead_s": 60, "limits": limits}
    kind, options = feed_options(load(write(config(feed=feed))))
    built = build_feed(kind, **options)
    validator = built.validator  # type: ignore[attr-defined]
    assert validator.max_ahead_s == 60
    assert (validator.limits.max_price, validator.limits.max_digits) == (Decimal("1e6"), 12)
    assert validator.limits.min_price == Decimal("1e-12")
    replay = {"kind": "replay", "paths": ["x.csv"], "limits": {"max_volume": 5}}
    assert feed_options(load(write(config(feed=replay))))[1]["limits"]["max_volume"] == 5


@pytest.mark.parametrize(
    "feed",
    [
        {"kind": "redis", "max_ahead_s": -1},
        {"kind": "redis", "limits": {"max_price": 0}},
        {"kind": "redis", "limits": {"min_price": 2, "max_price": 1}},
        {"kind": "replay", "paths": ["x.csv"], "limits": {"max_digits": 0}},
        {"kind": "replay", "paths": ["x.csv"], "limits": {"max_size": 1}},
    ],
)
def test_bad_bar_limits_are_configuration_errors(write: Write, feed: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        load(write(config(feed=feed)))
