"""Strategies by import path: what loads, and how each kind of mistake is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import StrategyLoadError
from workers.loader import build_strategy, load_strategy_class
from workers.strategies import MovingAverageCrossover

SAMPLES = "tests.workers.sample_strategies"


def test_loads_a_strategy_class() -> None:
    path = "workers.strategies.moving_average:MovingAverageCrossover"
    assert load_strategy_class(path) is MovingAverageCrossover


def test_builds_with_keyword_params() -> None:
    strategy = build_strategy(
        "workers.strategies.moving_average:MovingAverageCrossover", {"fast": 3, "slow": 7}
    )
    assert isinstance(strategy, MovingAverageCrossover)
    assert (strategy.fast, strategy.slow) == (3, 7)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("workers.strategies.moving_average", "not of the form"),
        ("workers.strategies.moving_average.MovingAverageCrossover", "not of the form"),
        (":MovingAverageCrossover", "not of the form"),
        ("workers.strategies.moving_average:", "not of the form"),
        ("workers..moving_average:X", "not of the form"),
        ("workers.strategies.moving-average:X", "not of the form"),
        ("a:b:c", "not of the form"),
        ("no_such_package.module:Strategy", "module 'no_such_package' not found"),
        ("workers.no_such_module:Strategy", "module 'workers.no_such_module' not found"),
        ("workers.strategies.moving_average:Nope", "has no attribute 'Nope'"),
        (f"{SAMPLES}:NOT_A_CLASS", "int object is not a class"),
        (f"{SAMPLES}:NoHandleData", "has no handle_data method"),
        (f"{SAMPLES}:AsyncHandleData", "handle_data is an async or generator function"),
        (f"{SAMPLES}:GeneratorInitialize", "initialize is an async or generator function"),
    ],
)
def test_reports_what_is_wrong_with_a_path(path: str, message: str) -> None:
    with pytest.raises(StrategyLoadError, match=message):
        load_strategy_class(path)


def test_rejects_a_path_that_is_not_a_string() -> None:
    with pytest.raises(StrategyLoadError, match="must be a str"):
        load_strategy_class(42)  # type: ignore[arg-type]


def test_reports_a_failing_constructor() -> None:
    path = "workers.strategies.moving_average:MovingAverageCrossover"
    with pytest.raises(StrategyLoadError, match=r"MovingAverageCrossover\(.*ValueError"):
        build_strategy(path, {"fast": 30, "slow": 10})
    with pytest.raises(StrategyLoadError, match="TypeError"):
        build_strategy(path, {"no_such_param": 1})


def test_rejects_params_that_are_not_keywords() -> None:
    path = "workers.strategies.moving_average:MovingAverageCrossover"
    with pytest.raises(StrategyLoadError, match="params must be a dict"):
        build_strategy(path, [1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import paperfund_missing_dependency\n", "No module named 'paperfund_missing_dep"),
        ("raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
    ],
)
def test_reports_a_module_that_fails_to_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, message: str
) -> None:
    (tmp_path / "paperfund_broken_module.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        StrategyLoadError, match=f"importing paperfund_broken_module failed.*{message}"
    ):
        load_strategy_class("paperfund_broken_module:Strategy")
