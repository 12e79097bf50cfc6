"""Covariance estimators and timestamp alignment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.allocation import aligned_returns, is_constant, ledoit_wolf_covariance, sample_covariance
from core.allocation.covariance import estimate_covariance, parse_shrinkage
from core.errors import InvalidInputError
from tests.core.allocation.doubles import Series, correlated_returns


def _ledoit_wolf_by_definition(x: np.ndarray) -> np.ndarray:
    t, n = x.shape
    xc = x - x.mean(axis=0)
    s = xc.T @ xc / t
    m = np.trace(s) / n
    d2 = np.linalg.norm(s - m * np.eye(n), "fro") ** 2
    b2 = sum(np.linalg.norm(np.outer(row, row) - s, "fro") ** 2 for row in xc) / t**2
    delta = min(b2, d2) / d2
    return (1 - delta) * s + delta * m * np.eye(n)


@pytest.mark.parametrize(("t", "n"), [(252, 5), (30, 10), (8, 20)])
def test_ledoit_wolf_matches_definition(t, n):
    x = correlated_returns(n, t, seed=t + n)
    np.testing.assert_allclose(
        ledoit_wolf_covariance(x), _ledoit_wolf_by_definition(x), rtol=1e-10, atol=1e-18
    )


def test_ledoit_wolf_is_positive_definite_when_sample_is_singular():
    x = correlated_returns(50, 20, seed=1)
    assert np.linalg.matrix_rank(sample_covariance(x)) < 50
    assert np.linalg.eigvalsh(ledoit_wolf_covariance(x)).min() > 0
    np.testing.assert_array_equal(
        estimate_covariance(x, shrinkage=False), ledoit_wolf_covariance(x)
    )


def test_sample_covariance_matches_numpy():
    x = correlated_returns(6, 100, seed=2)
    np.testing.assert_allclose(sample_covariance(x), np.cov(x, rowvar=False), rtol=1e-12)
    np.testing.assert_array_equal(estimate_covariance(x, shrinkage=False), sample_covariance(x))


def test_shrinkage_option_parsing():
    assert parse_shrinkage(True) and parse_shrinkage("ledoit_wolf")
    assert not parse_shrinkage(False) and not parse_shrinkage(None) and not parse_shrinkage("none")
    with pytest.raises(InvalidInputError):
        parse_shrinkage("oas")


def test_alignment_by_timestamp_not_by_tail():
    day = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i) for i in range(6)]
    a = Series("a", np.array([1.0, 2.0, 3.0, 4.0, 5.0]), tuple(day[:5]))
    # b misses day 2 and has a later last stamp: tail alignment would pair wrong returns
    b = Series(
        "b", np.array([10.0, 20.0, 40.0, 50.0, 60.0]), (day[0], day[1], day[3], day[4], day[5])
    )
    x = aligned_returns([a, b], lookback_window=10)
    np.testing.assert_array_equal(x, [[1, 10], [2, 20], [4, 40], [5, 50]])
    np.testing.assert_array_equal(aligned_returns([a, b], lookback_window=2), [[4, 40], [5, 50]])


def test_alignment_fast_path_and_short_series():
    x = np.arange(20.0).reshape(10, 2)
    a, b = Series("a", x[:, 0]), Series("b", x[:, 1])
    np.testing.assert_array_equal(aligned_returns([a, b], 4), x[-4:])
    short = Series("c", np.array([7.0, 8.0]))
    np.testing.assert_array_equal(aligned_returns([a, short], 5), [[16.0, 7.0], [18.0, 8.0]])
    disjoint = Series("d", np.array([1.0]), ("never",))
    assert aligned_returns([a, disjoint], 5).shape == (0, 2)


def test_constancy_test_does_not_rely_on_std_equal_zero():
    flat = np.full(50, 0.001)
    assert is_constant(flat)
    assert is_constant(flat * (1 + 1e-15 * np.arange(50)))  # std ~ 1e-17, not 0
    assert not is_constant(np.array([0.001, 0.002, 0.001]))
    assert is_constant(np.array([0.5]))
