"""StrategyPerformance: time-weighted returns, window statistics, drawdowns, snapshots."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInputError
from core.performance import StrategyPerformance

T0 = datetime(2024, 1, 2, 9, 30)
SEED_METRIC_KEYS = {
    "strategy_id",
    "num_observations",
    "current_value",
    "peak_value",
    "current_drawdown",
    "max_drawdown",
    "mean_return",
    "volatility",
    "sharpe_ratio",
    "win_rate",
    "profit_factor",
    "winning_periods",
    "losing_periods",
}


def ts(i: int) -> datetime:
    return T0 + timedelta(minutes=i)


# ------------------------------------------------------------------ reference


@dataclass
class Reference:
    """Everything recomputed from scratch from the full (value, flow) history."""

    returns: list[float] = field(default_factory=list)
    return_ts: list[object] = field(default_factory=list)
    growths: list[float] = field(default_factory=list)
    broken: bool = False  # a base ≤ 0 or a non-positive NAV happened


def reference(steps: list[tuple[Decimal, Decimal]]) -> Reference:
    ref = Reference()
    last: Decimal | None = None
    for i, (value, flow) in enumerate(steps):
        if last is not None:
            base = float(last + flow)
            if base > 0.0:
                growth = float(value) / base
                ref.growths.append(growth)
                ref.returns.append(growth - 1.0)
                ref.return_ts.append(ts(i))
                ref.broken |= growth <= 0.0
            else:
                ref.broken = True
        last = value
    return ref


def ref_stats(window: np.ndarray, ppy: float, rf: float) -> dict[str, float]:
    n = len(window)
    if n < 2:
        return dict.fromkeys(("mean", "vol", "sharpe", "win", "pf"), 0.0)
    mean = float(np.mean(window))
    std = float(np.std(window, ddof=1))
    if window.max() == window.min() or std < 1e-12 * max(1.0, abs(mean)):
        std = 0.0
    gains = float(window[window > 0].sum())
    losses = float(-window[window < 0].sum())
    if (window > 0).sum() == 0:
        pf = 0.0
    elif (window < 0).sum() == 0:
        pf = math.inf
    else:
        pf = gains / losses
    return {
        "mean": mean * ppy,
        "vol": std * math.sqrt(ppy),
        "sharpe": 0.0 if std == 0.0 else (mean - rf / ppy) / std * math.sqrt(ppy),
        "win": float((window > 0).sum()) / n,
        "pf": pf,
    }


def ref_drawdowns(growths: list[float]) -> tuple[float, float, float]:
    """(current, max, trough-since-last-peak) on the NAV index."""
    if not growths:
        return 0.0, 0.0, 0.0
    nav = np.cumprod(np.array(growths))
    peak = np.maximum.accumulate(np.concatenate(([1.0], nav)))[1:]
    dd = nav / peak - 1.0
    at_peak = np.flatnonzero(nav >= peak)
    since = dd[at_peak[-1] + 1 :] if len(at_peak) else dd
    trough = min(0.0, float(since.min())) if len(since) else 0.0
    return float(dd[-1]), min(0.0, float(dd.min())), trough


def close(actual: float, expected: float, scale: float = 1.0) -> bool:
    if math.isinf(expected):
        return actual == expected
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12 * scale)


def assert_matches(perf: StrategyPerformance, steps: list[tuple[Decimal, Decimal]]) -> None:
    ref = reference(steps)
    window = np.array(ref.returns[-perf.lookback_window :], dtype=np.float64)
    assert perf.returns_array().tolist() == window.tolist()
    assert list(perf.return_timestamps) == ref.return_ts[-perf.lookback_window :]
    assert perf.num_returns == len(window)
    assert perf.num_observations == len(steps)
    expected = ref_stats(window, perf.periods_per_year, perf.risk_free_rate)
    scale = (1.0 + float(np.abs(window).max(initial=0.0))) * perf.periods_per_year
    assert close(perf.mean_return, expected["mean"], scale)
    assert close(perf.volatility, expected["vol"], scale)
    assert close(perf.sharpe_ratio, expected["sharpe"], 1e3)
    assert close(perf.win_rate, expected["win"])
    assert close(perf.profit_factor, expected["pf"])
    assert perf.winning_periods == int((window > 0).sum())
    assert perf.losing_periods == int((window < 0).sum())
    current, worst, trough = ref_drawdowns(ref.growths)
    assert close(perf.current_drawdown, current)
    assert close(perf.max_drawdown, worst)
    assert close(perf.trough_drawdown, trough)
    if not ref.broken and steps:
        nav = float(np.prod(ref.growths)) if ref.growths else 1.0
        peak = max([1.0, *np.cumprod(ref.growths).tolist()])
        expected_peak = float(steps[-1][0]) * peak / nav
        assert math.isclose(float(perf.peak_value), expected_peak, rel_tol=1e-9, abs_tol=1e-9)


def feed(
    perf: StrategyPerformance, steps: list[tuple[Decimal, Decimal]], *, use_record_flow: bool
) -> None:
    for i, (value, flow) in enumerate(steps):
        if use_record_flow:
            if flow:
                perf.record_flow(flow)
            perf.update(ts(i), value)
        else:
            perf.update(ts(i), value, flow)


# ------------------------------------------------------------ property tests

values = st.integers(min_value=0, max_value=2_000).map(Decimal)
flows = st.one_of(st.just(0), st.just(0), st.integers(-400, 400)).map(Decimal)
series = st.lists(st.tuples(values, flows), min_size=0, max_size=80)


@settings(max_examples=300, deadline=None)
@given(
    steps=series,
    lookback=st.integers(min_value=2, max_value=20),
    ppy=st.sampled_from([252.0, 52.0, 252.0 * 390]),
    rf=st.sampled_from([0.0, 0.03]),
)
def test_statistics_match_a_from_scratch_computation(
    steps: list[tuple[Decimal, Decimal]], lookback: int, ppy: float, rf: float
) -> None:
    perf = StrategyPerformance("s", lookback, periods_per_year=ppy, risk_free_rate=rf)
    for i, (value, flow) in enumerate(steps):
        perf.update(ts(i), value, flow)
        assert_matches(perf, steps[: i + 1])
        assert len(perf.portfolio_values) <= lookback + 1
        assert len(perf.timestamps) <= lookback + 1


@settings(max_examples=100, deadline=None)
@given(steps=series, lookback=st.integers(min_value=2, max_value=10))
def test_flow_argument_equals_record_flow(
    steps: list[tuple[Decimal, Decimal]], lookback: int
) -> None:
    by_argument = StrategyPerformance("s", lookback)
    by_record = StrategyPerformance("s", lookback)
    feed(by_argument, steps, use_record_flow=False)
    feed(by_record, steps, use_record_flow=True)
    assert by_argument == by_record
    assert by_argument.get_metrics() == by_record.get_metrics()


def random_walk(n: int, seed: int) -> list[tuple[Decimal, Decimal]]:
    rng = np.random.default_rng(seed)
    steps: list[tuple[Decimal, Decimal]] = []
    value = Decimal("100000.00")
    for i in range(n):
        flow = Decimal(0)
        if i and rng.random() < 0.02:
            flow = Decimal(int(rng.integers(-20_000, 20_000)))
        growth = Decimal(repr(float(rng.normal(1.0003, 0.01))))
        value = ((value + flow) * growth).quantize(Decimal("0.01"))
        steps.append((value, flow))
    return steps


def test_long_run_keeps_matching_and_memory_bounded() -> None:
    steps = random_walk(10_000, seed=7)
    perf = StrategyPerformance("s", 50)
    for i, (value, flow) in enumerate(steps):
        perf.update(ts(i), value, flow)
        if i % 1_000 == 999:
            assert_matches(perf, steps[: i + 1])
    assert_matches(perf, steps)
    assert perf.num_observations == 10_000
    assert len(perf.portfolio_values) == 51
    assert len(perf.timestamps) == 51
    assert len(perf.returns) == 50
    assert len(perf._ret) == len(perf._ret_q) == len(perf._ret_ts) == 50


def test_keep_history_keeps_every_value() -> None:
    steps = random_walk(300, seed=3)
    perf = StrategyPerformance("s", 20, keep_history=True)
    feed(perf, steps, use_record_flow=False)
    assert list(perf.portfolio_values) == [v for v, _ in steps]
    assert len(perf.timestamps) == 300
    assert perf.num_returns == 20


# ----------------------------------------------------------- example tests


def test_first_return_after_the_initial_observation_is_measured() -> None:
    perf = StrategyPerformance("s")
    perf.update(ts(0), Decimal("100000"))
    assert perf.num_returns == 0
    assert perf.num_observations == 1
    perf.update(ts(1), Decimal("110000"))
    assert perf.returns == [pytest.approx(0.1, rel=1e-15)]
    assert perf.return_timestamps == (ts(1),)


@pytest.mark.parametrize("use_record_flow", [False, True])
def test_a_transfer_without_price_move_is_a_zero_return(use_record_flow: bool) -> None:
    perf = StrategyPerformance("s")
    steps = [(Decimal(100_000), Decimal(0)), (Decimal(150_000), Decimal(50_000))]
    feed(perf, steps, use_record_flow=use_record_flow)
    assert perf.returns == [0.0]
    assert perf.current_drawdown == 0.0
    assert perf.peak_value == Decimal(150_000)


def test_a_withdrawal_is_not_a_drawdown() -> None:
    perf = StrategyPerformance("s")
    perf.update(ts(0), Decimal(100_000))
    perf.update(ts(1), Decimal(110_000))
    perf.update(ts(2), Decimal(55_000), Decimal(-55_000))
    assert perf.returns[-1] == 0.0
    assert perf.current_drawdown == 0.0
    assert perf.max_drawdown == 0.0
    assert perf.peak_value == Decimal(55_000)


def test_peak_value_is_the_highest_value_without_flows() -> None:
    perf = StrategyPerformance("s")
    for i, v in enumerate(["100000", "104000.13", "99000", "101000"]):
        perf.update(ts(i), Decimal(v))
    assert perf.peak_value == Decimal("104000.13")
    assert perf.trough_drawdown == pytest.approx(99000 / 104000.13 - 1)
    assert perf.current_drawdown == pytest.approx(101000 / 104000.13 - 1)


def test_peak_value_follows_capital_moved_during_a_drawdown() -> None:
    perf = StrategyPerformance("s")
    for i, (v, f) in enumerate([("100", "0"), ("80", "0"), ("160", "80")]):
        perf.update(ts(i), Decimal(v), Decimal(f))
    assert perf.current_drawdown == pytest.approx(-0.2)
    assert perf.peak_value == Decimal(200)


def test_flows_before_the_first_observation_are_initial_capital() -> None:
    perf = StrategyPerformance("s")
    perf.record_flow(Decimal(500))
    perf.update(ts(0), Decimal(1_000), Decimal(300))
    perf.update(ts(1), Decimal(1_100))
    assert perf.returns == [pytest.approx(0.1)]


def test_an_emptied_strategy_records_values_but_no_undefined_return() -> None:
    perf = StrategyPerformance("s")
    perf.update(ts(0), Decimal(100))
    perf.update(ts(1), Decimal(0))  # lost everything: −100 %
    perf.update(ts(2), Decimal(0))  # base 0: undefined
    perf.update(ts(3), Decimal(55), Decimal(50))  # refunded, then +10 %
    assert perf.returns == [-1.0, pytest.approx(0.1)]
    assert perf.num_observations == 4
    assert list(perf.portfolio_values)[-2:] == [Decimal(0), Decimal(55)]
    assert perf.max_drawdown == -1.0


def test_periods_per_year_sets_the_annualisation() -> None:
    steps = random_walk(200, seed=11)
    daily = StrategyPerformance("d", 100)
    minute = StrategyPerformance("m", 100, periods_per_year=252 * 390)
    feed(daily, steps, use_record_flow=False)
    feed(minute, steps, use_record_flow=False)
    assert minute.mean_return == pytest.approx(daily.mean_return * 390, rel=1e-12)
    assert minute.volatility == pytest.approx(daily.volatility * math.sqrt(390), rel=1e-12)
    assert minute.sharpe_ratio == pytest.approx(daily.sharpe_ratio * math.sqrt(390), rel=1e-12)
    assert minute.periods_per_year == 252 * 390


def test_risk_free_rate_lowers_sharpe() -> None:
    steps = random_walk(100, seed=5)
    plain = StrategyPerformance("s")
    with_rf = StrategyPerformance("s", risk_free_rate=0.05)
    feed(plain, steps, use_record_flow=False)
    feed(with_rf, steps, use_record_flow=False)
    std_p = plain.volatility / math.sqrt(252)
    expected = plain.sharpe_ratio - 0.05 / 252 / std_p * math.sqrt(252)
    assert with_rf.sharpe_ratio == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "values", [["100"] * 10, [f"{100 * 1.01**i:.10f}" for i in range(40)]], ids=["flat", "growth"]
)
def test_constant_return_series_has_exactly_zero_volatility(values: list[str]) -> None:
    perf = StrategyPerformance("s", 20)
    for i, v in enumerate(values):
        perf.update(ts(i), Decimal(v))
    assert perf.num_returns >= 2
    assert perf.volatility == 0.0
    assert perf.sharpe_ratio == 0.0


def test_statistics_are_zero_with_fewer_than_two_returns() -> None:
    perf = StrategyPerformance("s")
    perf.update(ts(0), Decimal(100))
    perf.update(ts(1), Decimal(120))
    assert perf.num_returns == 1
    stats = (perf.mean_return, perf.volatility, perf.sharpe_ratio, perf.win_rate)
    assert stats == (0.0, 0.0, 0.0, 0.0)
    assert perf.profit_factor == 0.0
    assert perf.winning_periods == 1


def test_profit_factor_edges() -> None:
    gains_only = StrategyPerformance("g")
    for i, v in enumerate([100, 101, 102, 102]):
        gains_only.update(ts(i), Decimal(v))
    assert gains_only.profit_factor == math.inf
    assert gains_only.get_metrics()["profit_factor"] == "inf"
    flat = StrategyPerformance("f")
    for i in range(4):
        flat.update(ts(i), Decimal(100))
    assert flat.profit_factor == 0.0
    assert flat.win_rate == 0.0


def test_get_metrics_has_the_seed_keys_and_formats() -> None:
    perf = StrategyPerformance("momentum")
    for i, v in enumerate(["100000", "110000", "99000", "103950"]):
        perf.update(ts(i), Decimal(v))
    metrics = perf.get_metrics()
    assert set(metrics) == SEED_METRIC_KEYS
    assert metrics == {
        "strategy_id": "momentum",
        "num_observations": 4,
        "current_value": "103950.00",
        "peak_value": "110000.00",
        "current_drawdown": "-5.50%",
        "max_drawdown": "-10.00%",
        "mean_return": "420.00%",
        "volatility": "165.23%",
        "sharpe_ratio": "2.54",
        "win_rate": "66.67%",
        "profit_factor": "1.50",
        "winning_periods": 2,
        "losing_periods": 1,
    }
    pct = re.compile(r"^-?\d+\.\d{2}%$")
    for key in ("current_drawdown", "max_drawdown", "mean_return", "volatility", "win_rate"):
        assert pct.match(metrics[key]), key


def test_returns_array_is_a_float64_copy_of_the_tail() -> None:
    perf = StrategyPerformance("s", 5)
    for i, v in enumerate([100, 101, 103, 102, 105, 107, 106, 110]):
        perf.update(ts(i), Decimal(v))
    full = perf.returns_array()
    assert full.dtype == np.float64
    assert len(full) == 5
    assert perf.returns_array(3).tolist() == full[-3:].tolist()
    assert perf.returns_array(99).tolist() == full.tolist()
    assert len(perf.returns_array(0)) == 0
    assert len(perf.return_timestamps) == 5
    assert perf.return_timestamps[-1] == ts(7)
    full[:] = 0.0
    assert perf.returns_array().tolist() != full.tolist()


def test_state_round_trips_through_json_bit_identically() -> None:
    steps = random_walk(120, seed=9)
    perf = StrategyPerformance("s", 30, periods_per_year=52, risk_free_rate=0.01)
    for i, (value, flow) in enumerate(steps[:100]):
        perf.update(i, value, flow)  # integer timestamps: the state is plain JSON
    perf.record_flow(Decimal("123.45"))
    restored = StrategyPerformance.from_state(json.loads(json.dumps(perf.to_state())))
    assert restored == perf
    assert restored.get_metrics() == perf.get_metrics()
    assert (restored.sharpe_ratio, restored.volatility) == (perf.sharpe_ratio, perf.volatility)
    for i, (value, flow) in enumerate(steps[100:], start=100):
        perf.update(i, value, flow)
        restored.update(i, value, flow)
    assert restored == perf
    assert restored.profit_factor == perf.profit_factor


def test_equality_tracks_state() -> None:
    a, b = StrategyPerformance("s"), StrategyPerformance("s")
    assert a == b
    a.update(ts(0), Decimal(100))
    assert a != b
    b.update(ts(0), Decimal(100))
    assert a == b
    assert a != "s"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lookback_window": 1}, "lookback_window"),
        ({"periods_per_year": 0}, "periods_per_year"),
        ({"periods_per_year": math.inf}, "periods_per_year"),
        ({"risk_free_rate": math.nan}, "risk_free_rate"),
    ],
)
def test_invalid_configuration_is_rejected(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        StrategyPerformance("s", **kwargs)  # type: ignore[arg-type]


def test_invalid_values_are_rejected_without_changing_state() -> None:
    perf = StrategyPerformance("s")
    perf.update(ts(0), Decimal(100))
    with pytest.raises(ValueError, match="value"):
        perf.update(ts(1), Decimal("NaN"))
    with pytest.raises(InvalidInputError, match="flow"):
        perf.update(ts(1), Decimal(100), Decimal("Infinity"))
    with pytest.raises(InvalidInputError, match="version"):
        StrategyPerformance.from_state({"version": 0})
    assert perf.num_observations == 1
    assert perf.num_returns == 0
