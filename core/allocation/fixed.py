"""`FixedAllocation`: the configured weights, exactly as given."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from core.allocation.base import AllocationAlgorithm, ReturnSeries, strategy_ids
from core.allocation.constraints import AllocationConstraints
from core.errors import InfeasibleConstraintsError, InvalidInputError
from core.money import ONE, ZERO, in_fund_decimals, to_decimal


class FixedAllocation(AllocationAlgorithm):
    """Static weights per strategy; never renormalised.

    The weights must be ≥ 0 and sum to at most 1 (`ValueError` "Allocations sum to ..."
    otherwise); what they leave stays in the reserve. Strategies not configured get 0;
    configured ids that are not passed are ignored. Weights are Decimal multiples of 1e-10
    (configured values are quantised once, with the rule of `core.allocation.quantize`).
    If `constraints` are given, the weights must already satisfy them: a fixed allocation
    that breaks its bounds raises `InfeasibleConstraintsError` instead of being moved.
    """

    reads_statistics = False

    def __init__(
        self,
        allocations: Mapping[str, Decimal],
        constraints: AllocationConstraints | None = None,
    ) -> None:
        if not isinstance(allocations, Mapping):
            raise InvalidInputError("allocations must be a mapping of strategy id -> weight")
        weights = {
            sid: to_decimal(v, field=f"allocation for {sid!r}") for sid, v in allocations.items()
        }
        for sid, w in weights.items():
            if w < ZERO:
                raise InvalidInputError(f"allocation for {sid!r} must be >= 0, got {w}")
        total = sum(weights.values(), ZERO)
        if total > ONE:
            raise InvalidInputError(f"Allocations sum to {total} (> 1.0)")
        self.constraints = constraints if constraints is not None else AllocationConstraints()
        self._check(list(weights), weights)
        quantised = self.constraints.quantize(list(weights), list(weights.values()))
        # values already on the 1e-10 grid are kept as given (same digits)
        self.allocations = {
            sid: w if w == quantised[sid] else quantised[sid] for sid, w in weights.items()
        }

    def _check(self, ids: list[str], weights: Mapping[str, Decimal]) -> None:
        """The weights for `ids` (0 if not configured) must meet the constraints as given."""
        c = self.constraints
        for sid in ids:
            w = weights.get(sid, ZERO)
            if not c.min_for(sid) <= w <= c.max_for(sid):
                raise InfeasibleConstraintsError(
                    f"fixed allocation {w} for {sid!r} is outside its bounds "
                    f"[{c.min_for(sid)}, {c.max_for(sid)}]"
                )
        total = sum((weights.get(sid, ZERO) for sid in ids), ZERO)
        if total > c.max_total:
            raise InfeasibleConstraintsError(
                f"fixed allocations sum to {total}, above the budget max_total={c.max_total}"
            )

    @in_fund_decimals
    def calculate_allocations(self, strategies: Mapping[str, ReturnSeries]) -> dict[str, Decimal]:
        ids = strategy_ids(strategies)
        self._check(ids, self.allocations)
        return {sid: self.allocations.get(sid, ZERO) for sid in ids}
