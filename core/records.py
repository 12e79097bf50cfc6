"""The fund's records of its strategies and of its rebalances (seed names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Context, Decimal
from enum import Enum
from typing import Any

from core.ledger import Ledger
from core.money import ZERO, format_pct
from core.performance import StrategyPerformance
from core.step import StrategyContext

QUARANTINE_CANCEL_REASON = "strategy quarantined"
"""The reason recorded on the open orders cancelled when the fund quarantines a strategy:
in both drivers a quarantined strategy's open orders are cancelled at once and it steps no
more (its ledger is still filled for nothing and marked), until it is resumed."""


class StrategyState(Enum):
    """Strategy lifecycle states."""

    INITIALIZING = "initializing"
    RUNNING = "running"
    PAUSED = "paused"
    LIQUIDATING = "liquidating"
    STOPPED = "stopped"


class RebalanceTrigger(Enum):
    """What started a rebalance: a closed set, so it can label a metric. The free-text
    `reason` beside it (an operator's note, the drift measured) is for people."""

    INITIAL = "initial"
    """the rebalancer's first rebalance"""
    CALENDAR = "calendar"
    """a new day, week, month or quarter (the rebalancer's frequency)"""
    DRIFT = "drift"
    """the weights drifted past the rebalancer's threshold"""
    MANUAL = "manual"
    """asked for by a caller: `PortfolioAllocator.rebalance`, a rebalance command"""


@dataclass(eq=False)
class StrategyAllocation:
    """The fund's record of one strategy (seed name and fields).

    `allocated_capital` is the net capital the fund has put in (transfers in minus transfers
    out), `target_weight` the fraction of the fund's value it was last allocated (set by the
    `FundBook`, which marks every change in `targets_version`), `value` its
    latest marked value as reported by its host. `ledger` and `strategy` are set when the
    strategy runs in this process and are `None` when a worker elsewhere hosts them.
    """

    strategy_id: str
    strategy: Any
    allocated_capital: Decimal
    ledger: Ledger | None
    performance: StrategyPerformance
    state: StrategyState = StrategyState.INITIALIZING
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    target_weight: Decimal = ZERO
    value: Decimal = ZERO
    cash: Decimal = ZERO
    context: StrategyContext | None = None
    consecutive_errors: int = 0
    error_count: int = 0
    last_error: str | None = None
    pause_reason: str | None = None
    quarantined: bool = False
    """Paused by the fund itself (consecutive errors, a worker fault), not by an operator."""
    decimals: Context | None = None
    """The strategy's own decimal context, when its code runs in this process
    (`core.money.strategy_decimals`; `PortfolioAllocator`)."""

    @property
    def current_value(self) -> Decimal:
        """Current marked value of this strategy."""
        return self.value

    @property
    def return_pct(self) -> Decimal | None:
        """Return on the net capital put in (a fraction: 0.05 = 5 %), the seed's ratio.

        None when the net capital put in is ≤ 0 (more was withdrawn than put in): the ratio
        has no meaning then, and `time_weighted_return` is the strategy's return.
        """
        if self.allocated_capital > ZERO:
            return (self.current_value - self.allocated_capital) / self.allocated_capital
        return None

    @property
    def time_weighted_return(self) -> float:
        """The headline return (float): time-weighted over its whole life, transfers excluded."""
        return self.performance.total_return

    @property
    def is_active(self) -> bool:
        return self.state is StrategyState.RUNNING

    def __repr__(self) -> str:
        """The seed's shape; `return` is the headline, time-weighted return."""
        return (
            f"StrategyAllocation(id={self.strategy_id}, capital={self.allocated_capital}, "
            f"value={self.current_value}, return={format_pct(self.time_weighted_return)}, "
            f"state={self.state.value})"
        )


@dataclass(frozen=True)
class RebalanceRecord:
    """One applied rebalance: when, why, weights before and after, money moved, costs.

    `trigger` is what started it (a closed set); `reason` says why in words.

    `transfers` maps strategy id to the cash moved (positive into the strategy); `skipped`
    the transfers not made because they were below the rebalance's `min_transfer_pct` (same
    sign convention): those strategies kept their capital, the reserve the difference.
    """

    ts: datetime | None
    reason: str
    weights_before: dict[str, Decimal]
    weights_after: dict[str, Decimal]
    targets: dict[str, Decimal]
    transfers: dict[str, Decimal]
    costs: Decimal
    fund_value_before: Decimal
    fund_value_after: Decimal
    trigger: RebalanceTrigger = RebalanceTrigger.MANUAL
    skipped: dict[str, Decimal] = field(default_factory=dict)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Load records pickled before `skipped` existed (nothing was skipped then)."""
        self.__dict__.update({"skipped": {}, **state})
