"""paperfund core: the fund as a pure, deterministic state machine.

No I/O, no event loop, no wall clock, no randomness. Money is Decimal; statistics are float.
The public API keeps the seed allocator's names: `from core import PortfolioAllocator, ...`.
"""

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
from core.book import FundBook, RebalancePlan
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
from core.history import BarData, MarketHistory
from core.ledger import DecimalLedger, Ledger
from core.market import Bar, Slice
from core.orders import Fill, Order, OrderStatus, Position
from core.performance import StrategyPerformance
from core.rebalancer import AllocationRebalancer, RebalancingFrequency
from core.records import RebalanceRecord, StrategyAllocation, StrategyState
from core.step import StepReport, StrategyContext, StrategyProtocol, run_step
from core.strategy_ledger import StrategyLedger

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
