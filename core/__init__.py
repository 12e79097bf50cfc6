"""paperfund core: the fund as a pure, deterministic state machine.

No I/O, no event loop, no wall clock, no randomness. Money is Decimal; statistics are float.
The public API keeps the seed allocator's names: `from core import PortfolioAllocator, ...`.

The names are imported on first use (PEP 562): `import core.money` or `from core.errors
import ...` loads neither numpy nor pandas, so light entry points (`paperfund ctl`) stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.allocation import (
        AllocationAlgorithm,
        AllocationConstraints,
        DrawdownBasedAllocation,
        DynamicAllocation,
        EqualRiskContributionAllocation,
        FixedAllocation,
        HierarchicalRiskParityAllocation,
        KellyCriterionAllocation,
        RiskParityAllocation,
        VolatilityTargeting,
    )
    from core.allocator import PortfolioAllocator
    from core.book import FundBook
    from core.costs import (
        BasisPoints,
        CommissionModel,
        FixedBasisPoints,
        NoCommission,
        NoSlippage,
        PerShare,
        PerTrade,
        SlippageModel,
        VolumeShareSlippage,
    )
    from core.errors import (
        CoreError,
        InfeasibleConstraintsError,
        InsufficientFundsError,
        InvalidBarError,
        InvalidInputError,
        InvalidTransitionError,
        InvariantViolation,
    )
    from core.fills import FillModel
    from core.fund_moves import TransferResult
    from core.history import (
        BarData,
        MarketHistory,
    )
    from core.ledger import (
        DecimalLedger,
        Ledger,
    )
    from core.market import (
        Bar,
        Slice,
    )
    from core.orders import (
        Fill,
        Order,
        OrderStatus,
        Position,
    )
    from core.performance import StrategyPerformance
    from core.rebalance_plan import RebalancePlan
    from core.rebalancer import (
        AllocationRebalancer,
        RebalancingFrequency,
    )
    from core.records import (
        RebalanceRecord,
        StrategyAllocation,
        StrategyState,
    )
    from core.step import (
        StepReport,
        StrategyContext,
        StrategyProtocol,
        run_step,
    )
    from core.strategy_ledger import StrategyLedger

_HOMES: dict[str, str] = {
    "AllocationAlgorithm": "core.allocation",
    "AllocationConstraints": "core.allocation",
    "DrawdownBasedAllocation": "core.allocation",
    "DynamicAllocation": "core.allocation",
    "EqualRiskContributionAllocation": "core.allocation",
    "FixedAllocation": "core.allocation",
    "HierarchicalRiskParityAllocation": "core.allocation",
    "KellyCriterionAllocation": "core.allocation",
    "RiskParityAllocation": "core.allocation",
    "VolatilityTargeting": "core.allocation",
    "PortfolioAllocator": "core.allocator",
    "FundBook": "core.book",
    "RebalancePlan": "core.rebalance_plan",
    "BasisPoints": "core.costs",
    "CommissionModel": "core.costs",
    "FixedBasisPoints": "core.costs",
    "NoCommission": "core.costs",
    "NoSlippage": "core.costs",
    "PerShare": "core.costs",
    "PerTrade": "core.costs",
    "SlippageModel": "core.costs",
    "VolumeShareSlippage": "core.costs",
    "CoreError": "core.errors",
    "InfeasibleConstraintsError": "core.errors",
    "InsufficientFundsError": "core.errors",
    "InvalidBarError": "core.errors",
    "InvalidInputError": "core.errors",
    "InvalidTransitionError": "core.errors",
    "InvariantViolation": "core.errors",
    "FillModel": "core.fills",
    "TransferResult": "core.fund_moves",
    "BarData": "core.history",
    "MarketHistory": "core.history",
    "DecimalLedger": "core.ledger",
    "Ledger": "core.ledger",
    "Bar": "core.market",
    "Slice": "core.market",
    "Fill": "core.orders",
    "Order": "core.orders",
    "OrderStatus": "core.orders",
    "Position": "core.orders",
    "StrategyPerformance": "core.performance",
    "AllocationRebalancer": "core.rebalancer",
    "RebalancingFrequency": "core.rebalancer",
    "RebalanceRecord": "core.records",
    "StrategyAllocation": "core.records",
    "StrategyState": "core.records",
    "StepReport": "core.step",
    "StrategyContext": "core.step",
    "StrategyProtocol": "core.step",
    "run_step": "core.step",
    "StrategyLedger": "core.strategy_ledger",
}
"""Where each public name lives."""

__all__ = [
    "AllocationAlgorithm",
    "AllocationConstraints",
    "AllocationRebalancer",
    "Bar",
    "BarData",
    "BasisPoints",
    "CommissionModel",
    "CoreError",
    "DecimalLedger",
    "DrawdownBasedAllocation",
    "DynamicAllocation",
    "EqualRiskContributionAllocation",
    "Fill",
    "FillModel",
    "FixedAllocation",
    "FixedBasisPoints",
    "FundBook",
    "HierarchicalRiskParityAllocation",
    "InfeasibleConstraintsError",
    "InsufficientFundsError",
    "InvalidBarError",
    "InvalidInputError",
    "InvalidTransitionError",
    "InvariantViolation",
    "KellyCriterionAllocation",
    "Ledger",
    "MarketHistory",
    "NoCommission",
    "NoSlippage",
    "Order",
    "OrderStatus",
    "PerShare",
    "PerTrade",
    "PortfolioAllocator",
    "Position",
    "RebalancePlan",
    "RebalanceRecord",
    "RebalancingFrequency",
    "RiskParityAllocation",
    "Slice",
    "SlippageModel",
    "StepReport",
    "StrategyAllocation",
    "StrategyContext",
    "StrategyLedger",
    "StrategyPerformance",
    "StrategyProtocol",
    "StrategyState",
    "TransferResult",
    "VolatilityTargeting",
    "VolumeShareSlippage",
    "run_step",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
