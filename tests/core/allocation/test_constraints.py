"""AllocationConstraints: validation, bounds per id, projections."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.allocation import AllocationConstraints
from core.errors import InfeasibleConstraintsError, InvalidInputError

D = Decimal


def test_seed_defaults_and_number_types():
    c = AllocationConstraints()
    assert (c.default_min, c.default_max, c.max_total) == (D("0.0"), D("1.0"), D(1))
    c = AllocationConstraints(
        default_min=0.05, default_max="0.5", strategy_max={"a": 1}, max_total=0.9
    )
    assert c.default_min == D("0.05") and c.default_max == D("0.5")
    assert c.max_for("a") == D(1) and c.max_for("b") == D("0.5") and c.min_for("a") == D("0.05")
    assert c.max_total == D("0.9")
    lo, hi = c.bounds(["a", "b"])
    np.testing.assert_array_equal(lo, [0.05, 0.05])
    np.testing.assert_array_equal(hi, [1.0, 0.5])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"default_min": D("0.6"), "default_max": D("0.5")}, "exceeds its maximum"),
        ({"default_min": D("-0.1")}, ">= 0"),
        ({"default_max": D("1.5")}, "<= 1"),
        ({"strategy_min": {"a": D("0.7")}, "strategy_max": {"a": D("0.6")}}, "'a'"),
        ({"strategy_min": {"a": D("0.7")}, "default_max": D("0.5")}, "exceeds its maximum 0.5"),
        ({"max_total": D(0)}, r"\(0, 1\]"),
        ({"max_total": D("1.01")}, r"\(0, 1\]"),
    ],
)
def test_infeasible_at_construction(kwargs, message):
    with pytest.raises(InfeasibleConstraintsError, match=message):
        AllocationConstraints(**kwargs)


def test_bad_values_raise_value_error():
    with pytest.raises(ValueError):
        AllocationConstraints(default_min="abc")
    with pytest.raises(InvalidInputError):
        AllocationConstraints(strategy_max=[("a", 1)])


def test_sum_of_minimums_checked_per_set_of_ids():
    c = AllocationConstraints(default_min=D("0.3"))
    c.check_feasible(["a", "b", "c"])  # 0.9 fits
    with pytest.raises(
        InfeasibleConstraintsError, match=r"sum to 1\.2 for 4 strategies.*max_total=1"
    ):
        c.check_feasible(["a", "b", "c", "d"])
    with pytest.raises(InfeasibleConstraintsError):
        c.project(np.zeros(4), ["a", "b", "c", "d"])


def test_projection_targets_investable_total():
    c = AllocationConstraints(default_max=D("0.3"), max_total=D("0.8"))
    assert c.investable_total(["a", "b"]) == D("0.6")
    assert c.investable_total(["a", "b", "c", "d"]) == D("0.8")
    np.testing.assert_allclose(c.project([0.9, 0.1], ["a", "b"]), [0.3, 0.3])
    w = c.project([0.5, 0.3, 0.1, 0.0], ["a", "b", "c", "d"])
    assert w.sum() == pytest.approx(0.8)
    assert w.max() <= 0.3


def test_projection_within_budget_keeps_cash():
    c = AllocationConstraints(default_max=D("0.5"))
    np.testing.assert_allclose(c.project_within_budget([0.2, 0.1], ["a", "b"]), [0.2, 0.1])
    np.testing.assert_allclose(c.project_within_budget([0.9, 0.9], ["a", "b"]), [0.5, 0.5])
    np.testing.assert_allclose(
        c.project_within_budget([0.9, 0.3, 0.0], ["a", "b", "c"]), [0.5, 0.3, 0.0]
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=1, max_size=8), st.integers(1, 100))
def test_infeasible_sets_always_raise(mins, budget):
    ids = [f"s{i}" for i in range(len(mins))]
    c = AllocationConstraints(
        strategy_min={s: D(m) / 100 for s, m in zip(ids, mins, strict=True)},
        max_total=D(budget) / 100,
    )
    if sum(mins) > budget:
        with pytest.raises(InfeasibleConstraintsError):
            c.check_feasible(ids)
    else:
        c.check_feasible(ids)
        assert sum(c.project(np.ones(len(ids)), ids)) == pytest.approx(
            float(c.investable_total(ids))
        )
