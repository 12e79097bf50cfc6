"""A rebalance as a plan: validated targets and the transfers that reach them.

`FundBook.plan_rebalance` validates the targets; `plan_transfers` turns them into
withdrawals and deposits at cent precision, skipping those below the plan's
`min_transfer_pct` (`core.transfer_threshold`). A plan changes nothing: the drivers carry it
out and the book records the result (`FundBook.finish_rebalance`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from core.money import CASH_QUANTUM, ZERO, quantize_cash
from core.records import RebalanceTrigger
from core.transfer_threshold import is_material_transfer


@dataclass(frozen=True)
class RebalancePlan:
    """Validated targets and the transfers that reach them.

    Withdrawals run first; an amount of `None` means "everything" (target weight 0).
    Deposits run after, from the reserve, and may be scaled down if raising the reserve's
    cash cost more than expected. `skipped`: the transfers below the plan's
    `min_transfer_pct` that are not made (strategy id, amount; positive into the strategy).
    """

    reason: str
    targets: dict[str, Decimal]
    weights_before: dict[str, Decimal]
    fund_value: Decimal
    withdrawals: tuple[tuple[str, Decimal | None], ...]
    deposits: tuple[tuple[str, Decimal], ...]
    trigger: RebalanceTrigger = RebalanceTrigger.MANUAL
    skipped: tuple[tuple[str, Decimal], ...] = ()


def plan_transfers(
    targets: dict[str, Decimal],
    weights: dict[str, Decimal],
    values: Mapping[str, tuple[Decimal, Decimal]],
    fund_value: Decimal,
    reason: str,
    trigger: RebalanceTrigger,
    threshold: Decimal | None,
) -> RebalancePlan:
    """The plan that takes each strategy of `targets` to its weight of `fund_value`, given
    each strategy's (value, cash) in `values`."""
    withdrawals: list[tuple[str, Decimal | None]] = []
    deposits: list[tuple[str, Decimal]] = []
    skipped: list[tuple[str, Decimal]] = []
    for sid, weight in targets.items():
        value, cash = values[sid]
        if weight == ZERO:  # emptied whatever the threshold: nothing may be stranded
            if value != ZERO or cash != ZERO:
                withdrawals.append((sid, None))
            continue
        delta = weight * fund_value - value
        if delta <= -CASH_QUANTUM:
            amount = -quantize_cash(-delta, ROUND_UP)
        elif delta >= CASH_QUANTUM:
            amount = quantize_cash(delta, ROUND_DOWN)
        else:
            continue
        if not is_material_transfer(amount, fund_value, threshold):
            skipped.append((sid, amount))
        elif amount < ZERO:
            withdrawals.append((sid, -amount))
        else:
            deposits.append((sid, amount))
    return RebalancePlan(
        reason,
        targets,
        weights,
        fund_value,
        tuple(withdrawals),
        tuple(deposits),
        trigger,
        tuple(skipped),
    )
