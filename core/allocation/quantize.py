"""Float weights → Decimal weights that meet their bounds and the budget exactly.

The rule (largest remainder, in integer quanta of `WEIGHT_QUANTUM` = 1e-10; all arithmetic on
exact integers, so it is deterministic on every platform):

1. Bounds become quanta: min rounded up, max rounded down, budget rounded down.
2. Each weight v (float or Decimal, converted exactly) is floored to the quantum and clipped
   to its bounds; an unclipped weight's remainder is v/1e-10 minus its floor.
3. The target total is the clipped total plus the remainders' sum rounded half-even, then
   kept within [Σ min, min(budget, Σ max)]: the total is rounded once, not N times.
4. Quanta are added (or removed) one at a time until the target total is met: added first to
   the weights furthest below their exact value and below their max, removed first from
   those furthest above their exact value and above their min; ties go to the earlier
   strategy.

So a weight moves by less than one quantum unless it had to be moved to a bound, every weight
stays within its [min, max], and Σ ≤ budget holds in Decimal arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from core.errors import InfeasibleConstraintsError, InvalidInputError
from core.money import WEIGHT_QUANTUM

_SCALE = 10**10
_SCALE_DECIMAL = Decimal(_SCALE)  # 1 / WEIGHT_QUANTUM


def _ratio(value: float | Decimal) -> tuple[int, int]:
    try:
        return value.as_integer_ratio()
    except (ValueError, OverflowError, AttributeError):
        raise InvalidInputError(f"weight must be a finite number, got {value!r}") from None


def _floor_quanta(value: float | Decimal) -> int:
    num, den = _ratio(value)
    return (num * _SCALE) // den


def _ceil_quanta(value: Decimal) -> int:
    num, den = _ratio(value)
    return -((-num * _SCALE) // den)


def _spread(quanta: list[int], room: list[int], order: list[int], amount: int, sign: int) -> None:
    """Move `amount` quanta (sign +1 adds, −1 removes) along `order`, within `room`."""
    while amount > 0:
        active = [i for i in order if room[i] > 0]
        if not active:
            raise InfeasibleConstraintsError("weights cannot meet their bounds and total")
        step = max(1, amount // len(active))
        for i in active:
            take = min(room[i], step, amount)
            quanta[i] += sign * take
            room[i] -= take
            amount -= take
            if amount == 0:
                return


def quantize_weights(
    weights: Sequence[float | Decimal],
    lo: Sequence[Decimal],
    hi: Sequence[Decimal],
    budget: Decimal,
) -> list[Decimal]:
    """Quantise `weights` to multiples of 1e-10 within [lo, hi] with Σ ≤ budget (see module).

    Raises `InfeasibleConstraintsError` if no multiple of the quantum fits some [lo, hi] or the
    quantised minimums sum above the budget.
    """
    n = len(weights)
    if not len(lo) == len(hi) == n:
        raise InvalidInputError("weights and bounds must have the same length")
    lo_q = [_ceil_quanta(v) for v in lo]
    hi_q = [_floor_quanta(v) for v in hi]
    budget_q = _floor_quanta(budget)
    for i in range(n):
        if lo_q[i] > hi_q[i]:
            raise InfeasibleConstraintsError(
                f"no multiple of {WEIGHT_QUANTUM} lies between {lo[i]} and {hi[i]}"
            )
    if sum(lo_q) > budget_q:
        raise InfeasibleConstraintsError(
            f"minimum allocations sum to {sum(lo)}, above the budget {budget}"
        )
    remainders: list[float] = []
    residuals: list[float] = []  # exact value minus the current quanta, in quanta
    quanta: list[int] = []
    for i, value in enumerate(weights):
        num, den = _ratio(value)
        scaled = num * _SCALE
        floor = scaled // den
        q = min(max(floor, lo_q[i]), hi_q[i])
        quanta.append(q)
        if q == floor:
            remainders.append((scaled - floor * den) / den)  # int / int is correctly rounded
        residuals.append((scaled - q * den) / den)
    target = sum(quanta) + round(math.fsum(remainders))
    target = min(max(target, sum(lo_q)), budget_q, sum(hi_q))
    missing = target - sum(quanta)
    if missing > 0:
        order = sorted(range(n), key=lambda i: (-residuals[i], i))
        room = [hi_q[i] - quanta[i] for i in range(n)]
        _spread(quanta, room, order, missing, 1)
    elif missing < 0:
        order = sorted(range(n), key=lambda i: (residuals[i], i))
        room = [quanta[i] - lo_q[i] for i in range(n)]
        _spread(quanta, room, order, -missing, -1)
    return [Decimal(q) / _SCALE_DECIMAL for q in quanta]
