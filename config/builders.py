"""Turn settings into core objects, and resolve the strategy classes they name.

The builders raise `ConfigError` naming the setting when the core rejects a combination of
values the schema alone cannot judge (a cooldown that would block its frequency, constraints
whose minimums exceed the budget). `check_buildable` runs them all; `load_settings` calls it.

`check_imports` (from `config.strategies`) is separate because it imports user code:
`check-config` asks for it, plain loading does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from config.allocation import (
    AlgorithmSettings,
    ConstraintsSettings,
    DrawdownAlgorithm,
    DynamicAlgorithm,
    EqualRiskContributionAlgorithm,
    FixedAlgorithm,
    HierarchicalRiskParityAlgorithm,
    KellyAlgorithm,
    RebalancerSettings,
    RiskParityAlgorithm,
    VolatilityTargetingAlgorithm,
)
from config.errors import ConfigError, Problem, join_path
from config.models import (
    BasisPointsSettings,
    CommissionSettings,
    FixedBasisPointsSettings,
    NoCommissionSettings,
    NoSlippageSettings,
    PerShareSettings,
    PerTradeSettings,
    SlippageSettings,
    VolumeShareSettings,
)
from config.settings import FundSettings
from config.strategies import check_imports, resolve_strategy_class, strategy_class_path
from core import (
    AllocationAlgorithm,
    AllocationConstraints,
    AllocationRebalancer,
    BasisPoints,
    CommissionModel,
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
    SlippageModel,
    VolatilityTargeting,
    VolumeShareSlippage,
)
from core.errors import InvalidInputError

__all__ = [
    "build_algorithm",
    "build_ledger_models",
    "build_rebalancer",
    "check_buildable",
    "check_imports",
    "feed_options",
    "resolve_strategy_class",
    "strategy_class_path",
]

ALGORITHM_PATH = "allocation.algorithm"

_LEADING_NAME = re.compile(r"[A-Za-z_]+")


@contextmanager
def _core_input(path: str, fields: Iterable[str] = ()) -> Iterator[None]:
    """Report the core's rejection of an input as a problem at `path` (or at the field of
    `fields` that the core's message starts with)."""
    try:
        yield
    except InvalidInputError as exc:
        message = str(exc)
        head = _LEADING_NAME.match(message)
        field = head.group(0) if head is not None and head.group(0) in set(fields) else ""
        raise ConfigError([Problem(join_path(path, field), message)]) from None


# ---------------------------------------------------------------- allocation


def build_algorithm(settings: FundSettings) -> AllocationAlgorithm:
    """The configured allocation algorithm; `fixed` without allocations uses the strategies'."""
    defaults = {s.id: s.allocation for s in settings.strategies}
    return _algorithm(settings.allocation.algorithm, defaults, ALGORITHM_PATH)


def _constraints(spec: ConstraintsSettings, path: str) -> AllocationConstraints:
    with _core_input(path, ConstraintsSettings.model_fields):
        return AllocationConstraints(
            default_min=spec.default_min,
            default_max=spec.default_max,
            strategy_min=dict(spec.strategy_min),
            strategy_max=dict(spec.strategy_max),
            max_total=spec.max_total,
        )


def _algorithm(
    spec: AlgorithmSettings, defaults: Mapping[str, Decimal], path: str
) -> AllocationAlgorithm:
    constraints = _constraints(spec.constraints, f"{path}.constraints")
    with _core_input(f"{path}.params", type(spec.params).model_fields):
        return _construct(spec, constraints, defaults, path)


def _construct(
    spec: AlgorithmSettings,
    constraints: AllocationConstraints,
    defaults: Mapping[str, Decimal],
    path: str,
) -> AllocationAlgorithm:
    if isinstance(spec, FixedAlgorithm):
        allocations = spec.params.allocations
        return FixedAllocation(dict(defaults if allocations is None else allocations), constraints)
    if isinstance(spec, VolatilityTargetingAlgorithm):
        p = spec.params
        return VolatilityTargeting(
            _algorithm(p.inner, defaults, f"{path}.params.inner"),
            p.target_volatility,
            p.max_leverage,
            p.lookback_window,
            shrinkage=p.shrinkage,
            min_observations=p.min_observations,
            constraints=constraints,
        )
    return _WINDOWED[type(spec)](spec, constraints)


def _dynamic(spec: DynamicAlgorithm, c: AllocationConstraints) -> AllocationAlgorithm:
    p = spec.params
    return DynamicAllocation(
        p.lookback_window, p.min_allocation, c, min_observations=p.min_observations
    )


def _risk_parity(spec: RiskParityAlgorithm, c: AllocationConstraints) -> AllocationAlgorithm:
    p = spec.params
    return RiskParityAllocation(
        p.lookback_window, p.min_volatility, c, min_observations=p.min_observations
    )


def _kelly(spec: KellyAlgorithm, c: AllocationConstraints) -> AllocationAlgorithm:
    p = spec.params
    return KellyCriterionAllocation(
        p.lookback_window,
        p.kelly_fraction,
        p.min_variance,
        c,
        use_covariance=p.use_covariance,
        shrinkage=p.shrinkage,
        min_observations=p.min_observations,
    )


def _drawdown(spec: DrawdownAlgorithm, c: AllocationConstraints) -> AllocationAlgorithm:
    p = spec.params
    return DrawdownBasedAllocation(
        p.max_drawdown_threshold,
        p.recovery_bonus,
        c,
        lookback_window=p.lookback_window,
        min_observations=p.min_observations,
    )


def _erc(spec: EqualRiskContributionAlgorithm, c: AllocationConstraints) -> AllocationAlgorithm:
    p = spec.params
    budgets = None if p.risk_budgets is None else dict(p.risk_budgets)
    return EqualRiskContributionAllocation(
        p.lookback_window, budgets, p.shrinkage, c, min_observations=p.min_observations
    )


def _hrp(spec: HierarchicalRiskParityAlgorithm, c: AllocationConstraints) -> AllocationAlgorithm:
    p = spec.params
    return HierarchicalRiskParityAllocation(
        p.lookback_window, p.shrinkage, c, min_observations=p.min_observations
    )


_WINDOWED: dict[type, Callable[..., AllocationAlgorithm]] = {
    DynamicAlgorithm: _dynamic,
    RiskParityAlgorithm: _risk_parity,
    KellyAlgorithm: _kelly,
    DrawdownAlgorithm: _drawdown,
    EqualRiskContributionAlgorithm: _erc,
    HierarchicalRiskParityAlgorithm: _hrp,
}


def build_rebalancer(settings: FundSettings) -> AllocationRebalancer | None:
    """The rebalancer around `build_algorithm(settings)`, or None when none is configured."""
    if settings.allocation.rebalancer is None:
        return None
    return _rebalancer(settings.allocation.rebalancer, build_algorithm(settings))


def _rebalancer(spec: RebalancerSettings, algorithm: AllocationAlgorithm) -> AllocationRebalancer:
    frequency = RebalancingFrequency(spec.frequency)
    with _core_input("allocation.rebalancer", type(spec).model_fields):
        if spec.cooldown_days is None:
            return AllocationRebalancer(
                algorithm,
                frequency,
                drift_threshold=spec.drift_threshold,
                min_transfer_pct=spec.min_transfer_pct,
            )
        return AllocationRebalancer(
            algorithm,
            frequency,
            spec.cooldown_days,
            spec.drift_threshold,
            min_transfer_pct=spec.min_transfer_pct,
        )


# ---------------------------------------------------------------- ledger models


def build_ledger_models(
    settings: FundSettings,
) -> tuple[CommissionModel, SlippageModel, FillModel]:
    """(commission, slippage, fill model) for every ledger of the fund."""
    ledger = settings.ledger
    with _core_input("ledger.commission.params"):
        commission = _commission(ledger.commission)
    with _core_input("ledger.slippage.params"):
        slippage = _slippage(ledger.slippage)
    fill = ledger.fill.params
    with _core_input("ledger.fill.params", type(fill).model_fields):
        fill_model = FillModel(fill.volume_limit, fill.lot_size)
    return commission, slippage, fill_model


def _commission(spec: CommissionSettings) -> CommissionModel:
    if isinstance(spec, PerShareSettings):
        return PerShare(cost=spec.params.cost, min_trade_cost=spec.params.min_trade_cost)
    if isinstance(spec, PerTradeSettings):
        return PerTrade(cost=spec.params.cost)
    if isinstance(spec, BasisPointsSettings):
        return BasisPoints(bps=spec.params.bps)
    assert isinstance(spec, NoCommissionSettings)
    return NoCommission()


def _slippage(spec: SlippageSettings) -> SlippageModel:
    if isinstance(spec, FixedBasisPointsSettings):
        return FixedBasisPoints(bps=spec.params.bps)
    if isinstance(spec, VolumeShareSettings):
        return VolumeShareSlippage(price_impact=spec.params.price_impact)
    assert isinstance(spec, NoSlippageSettings)
    return NoSlippage()


def check_buildable(settings: FundSettings) -> list[Problem]:
    """Every problem the builders find, plus constraints infeasible for the configured
    strategies; empty when the settings build."""
    problems: list[Problem] = []
    algorithm: AllocationAlgorithm | None = None
    try:
        build_ledger_models(settings)
    except ConfigError as exc:
        problems += exc.problems
    try:
        algorithm = build_algorithm(settings)
        with _core_input(f"{ALGORITHM_PATH}.constraints"):
            algorithm.constraints.check_feasible([s.id for s in settings.strategies])
    except ConfigError as exc:
        problems += exc.problems
    if settings.allocation.rebalancer is not None:
        try:  # judged on its own even when the algorithm is invalid
            _rebalancer(settings.allocation.rebalancer, algorithm or FixedAllocation({}))
        except ConfigError as exc:
            problems += exc.problems
    return problems


# ---------------------------------------------------------------- feed


def feed_options(settings: FundSettings) -> tuple[str, dict[str, Any]]:
    """(kind, keyword options) of the feed, for `daemon.feeds.build_feed(kind, **options)`."""
    return settings.feed.kind, settings.feed.model_dump(exclude={"kind"})
