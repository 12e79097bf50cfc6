"""Allocation algorithms: strategy return series in, Decimal weights (Σ ≤ budget) out.

The data policy shared by every algorithm (new strategies, constant series, negative edges)
is described in `core.allocation.base`; the float → Decimal rule in
`core.allocation.quantize`.
"""

from core.allocation.base import (
    AllocationAlgorithm,
    QuantizedAllocation,
    ReturnSeries,
    is_constant,
)
from core.allocation.constraints import AllocationConstraints
from core.allocation.covariance import (
    aligned_returns,
    ledoit_wolf_covariance,
    sample_covariance,
)
from core.allocation.drawdown import DrawdownBasedAllocation
from core.allocation.dynamic import DynamicAllocation
from core.allocation.erc import EqualRiskContributionAllocation
from core.allocation.fixed import FixedAllocation
from core.allocation.hrp import HierarchicalRiskParityAllocation, hrp_weights
from core.allocation.kelly import KellyCriterionAllocation
from core.allocation.kelly_qp import kelly_qp
from core.allocation.projection import project_box_budget, project_box_sum
from core.allocation.quantize import quantize_weights
from core.allocation.risk_budgeting import risk_budget_weights
from core.allocation.risk_parity import RiskParityAllocation, inverse_volatility_weights
from core.allocation.vol_target import VolatilityTargeting

__all__ = [
    "AllocationAlgorithm",
    "AllocationConstraints",
    "DrawdownBasedAllocation",
    "DynamicAllocation",
    "EqualRiskContributionAllocation",
    "FixedAllocation",
    "HierarchicalRiskParityAllocation",
    "KellyCriterionAllocation",
    "QuantizedAllocation",
    "ReturnSeries",
    "RiskParityAllocation",
    "VolatilityTargeting",
    "aligned_returns",
    "hrp_weights",
    "inverse_volatility_weights",
    "is_constant",
    "kelly_qp",
    "ledoit_wolf_covariance",
    "project_box_budget",
    "project_box_sum",
    "quantize_weights",
    "risk_budget_weights",
    "sample_covariance",
]
