"""Float → Decimal weights: multiples of 1e-10, bounds and budget exact, deterministic."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.allocation import AllocationConstraints, project_box_sum, quantize_weights
from core.errors import InfeasibleConstraintsError
from core.money import WEIGHT_QUANTUM

D = Decimal


def test_equal_thirds_sum_to_one_exactly():
    w = quantize_weights([1 / 3] * 3, [D(0)] * 3, [D(1)] * 3, D(1))
    assert sum(w) == D(1)
    assert sorted(w) == [D("0.3333333333"), D("0.3333333333"), D("0.3333333334")]
    assert w[0] == D("0.3333333334")  # ties go to the earlier strategy


def test_exact_values_are_kept():
    assert quantize_weights([D("0.4"), D("0.3")], [D(0)] * 2, [D(1)] * 2, D(1)) == [
        D("0.4"),
        D("0.3"),
    ]
    assert quantize_weights([0.5, 0.25], [D(0)] * 2, [D(1)] * 2, D(1)) == [D("0.5"), D("0.25")]


def test_bounds_hold_when_floats_overshoot():
    # float(0.1) is above Decimal 0.1; the cap still holds exactly
    w = quantize_weights([0.1, 0.9], [D(0), D(0)], [D("0.1"), D(1)], D(1))
    assert w == [D("0.1"), D("0.9")]
    w = quantize_weights([0.5000000000001, 0.5000000000001], [D(0)] * 2, [D("0.5")] * 2, D(1))
    assert w == [D("0.5"), D("0.5")]


def test_budget_holds_and_cash_is_kept():
    w = quantize_weights([0.7, 0.3000000000001], [D(0)] * 2, [D(1)] * 2, D(1))
    assert sum(w) == D(1)
    w = quantize_weights([0.2, 0.1], [D(0)] * 2, [D(1)] * 2, D(1))
    assert sum(w) == D("0.3")


def test_min_bound_between_quanta_is_rounded_up():
    w = quantize_weights([0.0], [D("0.12345678901")], [D(1)], D(1))
    assert w == [D("0.1234567891")]


def test_no_quantum_between_bounds_raises():
    with pytest.raises(InfeasibleConstraintsError, match="no multiple"):
        quantize_weights([0.5], [D("0.12345678901")], [D("0.12345678902")], D(1))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20),
    st.floats(0.05, 1.0),
    st.floats(0.0, 0.04),
    st.floats(0.0, 1.0),
)
def test_quantised_weights_are_exactly_feasible(raw, budget, floor, noise):
    n = len(raw)
    total = D(repr(budget))
    lo = [D(repr(min(floor, budget / n))).quantize(WEIGHT_QUANTUM, ROUND_DOWN)] * n
    hi = [D(1)] * n
    x = project_box_sum(raw, [float(lo[0])] * n, [1.0] * n, budget)
    x = x * (1 + 1e-13 * noise)  # floats may overshoot by rounding
    w = quantize_weights(list(x), lo, hi, total)
    assert all(v % WEIGHT_QUANTUM == 0 for v in w)
    assert all(a <= v <= b for a, v, b in zip(lo, w, hi, strict=True))
    assert sum(w) <= total
    # within one quantum of the float (two when the off-grid budget is rounded down), unless
    # the minimum forced it
    for v, f, a in zip(w, x, lo, strict=True):
        assert abs(float(v) - f) <= 2e-10 or v == a


def test_constraints_quantize_preserves_order_and_ids():
    c = AllocationConstraints(strategy_max={"b": D("0.2")})
    out = c.quantize(["b", "a"], [0.25, 0.5])
    assert list(out) == ["b", "a"]
    assert out["b"] == D("0.2")
