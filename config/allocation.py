"""Allocation settings: the algorithm (name + params + constraints) and the rebalancer.

Each algorithm has its own params model, so a misspelt or misplaced parameter is an error that
names it. Constraints are fractions of the fund's value (see `core.AllocationConstraints`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, Tag, model_validator

from config.errors import FieldProblems, Problem
from config.values import (
    Fraction,
    Name,
    NonNegativeDecimal,
    PositiveDecimal,
    Real,
    StrictModel,
    Whole,
    tagged,
)

Window = Annotated[Whole, Field(ge=2)]
Shrinkage = bool | Literal["none", "ledoit_wolf"]


class ConstraintsSettings(StrictModel):
    default_min: Fraction = Decimal("0")
    default_max: Fraction = Decimal("1")
    strategy_min: dict[Name, Fraction] = Field(default_factory=dict)
    strategy_max: dict[Name, Fraction] = Field(default_factory=dict)
    max_total: Annotated[Fraction, Field(gt=0)] = Decimal("1")


class _WindowParams(StrictModel):
    """Params with a trailing window of returns and a minimum of observations within it."""

    lookback_window: Window = 252
    min_observations: Window | None = None

    @model_validator(mode="after")
    def _observations_fit(self) -> _WindowParams:
        window, needed = self.lookback_window, self.min_observations
        if needed is not None and needed > window:
            raise FieldProblems(
                [Problem("min_observations", f"{needed} exceeds lookback_window {window}")]
            )
        return self


class FixedParams(StrictModel):
    allocations: dict[Name, Fraction] | None = None
    """None: the strategies' configured allocations."""


class DynamicParams(_WindowParams):
    lookback_window: Window = 60
    min_allocation: NonNegativeDecimal = Decimal("0.05")


class RiskParityParams(_WindowParams):
    min_volatility: NonNegativeDecimal = Decimal("0.001")


class KellyParams(_WindowParams):
    kelly_fraction: PositiveDecimal = Decimal("0.5")
    min_variance: NonNegativeDecimal = Decimal("0.0001")
    use_covariance: bool = False
    shrinkage: Shrinkage = False


class DrawdownParams(StrictModel):
    max_drawdown_threshold: Annotated[Fraction, Field(gt=0)] = Decimal("0.20")
    recovery_bonus: NonNegativeDecimal = Decimal("0.1")
    lookback_window: Window | None = None
    min_observations: Window | None = None

    @model_validator(mode="after")
    def _observations_fit(self) -> DrawdownParams:
        window, needed = self.lookback_window, self.min_observations
        if window is not None and needed is not None and needed > window:
            raise FieldProblems(
                [Problem("min_observations", f"{needed} exceeds lookback_window {window}")]
            )
        return self


class EqualRiskContributionParams(_WindowParams):
    risk_budgets: Annotated[dict[Name, PositiveDecimal], Field(min_length=1)] | None = None
    shrinkage: Shrinkage = False


class HierarchicalRiskParityParams(_WindowParams):
    shrinkage: Shrinkage = False


class VolatilityTargetingParams(_WindowParams):
    inner: AlgorithmSettings
    target_volatility: PositiveDecimal
    max_leverage: PositiveDecimal | None = None
    shrinkage: Shrinkage = False


class _Algorithm(StrictModel):
    constraints: ConstraintsSettings = ConstraintsSettings()


class FixedAlgorithm(_Algorithm):
    name: Literal["fixed"] = "fixed"
    params: FixedParams = FixedParams()


class DynamicAlgorithm(_Algorithm):
    name: Literal["dynamic"]
    params: DynamicParams = DynamicParams()


class RiskParityAlgorithm(_Algorithm):
    name: Literal["risk_parity"]
    params: RiskParityParams = RiskParityParams()


class KellyAlgorithm(_Algorithm):
    name: Literal["kelly"]
    params: KellyParams = KellyParams()


class DrawdownAlgorithm(_Algorithm):
    name: Literal["drawdown"]
    params: DrawdownParams = DrawdownParams()


class EqualRiskContributionAlgorithm(_Algorithm):
    name: Literal["equal_risk_contribution"]
    params: EqualRiskContributionParams = EqualRiskContributionParams()


class HierarchicalRiskParityAlgorithm(_Algorithm):
    name: Literal["hierarchical_risk_parity"]
    params: HierarchicalRiskParityParams = HierarchicalRiskParityParams()


class VolatilityTargetingAlgorithm(_Algorithm):
    name: Literal["volatility_targeting"]
    params: VolatilityTargetingParams


AlgorithmSettings = Annotated[
    Annotated[FixedAlgorithm, Tag("fixed")]
    | Annotated[DynamicAlgorithm, Tag("dynamic")]
    | Annotated[RiskParityAlgorithm, Tag("risk_parity")]
    | Annotated[KellyAlgorithm, Tag("kelly")]
    | Annotated[DrawdownAlgorithm, Tag("drawdown")]
    | Annotated[EqualRiskContributionAlgorithm, Tag("equal_risk_contribution")]
    | Annotated[HierarchicalRiskParityAlgorithm, Tag("hierarchical_risk_parity")]
    | Annotated[VolatilityTargetingAlgorithm, Tag("volatility_targeting")],
    tagged("name", default="fixed"),
]
"""A mapping without `name` is `fixed`."""

ALGORITHM_NAMES = frozenset(
    {"fixed", "dynamic", "risk_parity", "kelly", "drawdown", "equal_risk_contribution"}
    | {"hierarchical_risk_parity", "volatility_targeting"}
)

VolatilityTargetingParams.model_rebuild()


class RebalancerSettings(StrictModel):
    frequency: Literal["daily", "weekly", "monthly", "quarterly", "custom"] = "monthly"
    cooldown_days: Annotated[Real, Field(ge=0)] | None = None
    """None: the frequency's default (daily 0, weekly 1, otherwise 7); 0: no cooldown."""
    drift_threshold: NonNegativeDecimal | None = None
    min_transfer_pct: Fraction | None = None


class AllocationSettings(StrictModel):
    algorithm: AlgorithmSettings = FixedAlgorithm()
    rebalancer: RebalancerSettings | None = None
