"""Strategies are checked before a fund starts, a `process` or `shard` strategy in a child process
only: its code is never imported by the daemon itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from config import ConfigError, load_settings
from daemon.preflight import check_fund, strategy_problems
from tests.config.support import Write, config, write

TREND = "workers.strategies.moving_average:MovingAverageCrossover"
__all__ = ["write"]  # the fixture


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on the import path (child processes inherit it) for strategy modules."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def strategy(sid: str, class_path: str, worker: str = "process") -> dict[str, object]:
    return {"id": sid, "class": class_path, "allocation": 0.1, "worker": worker}


STRATEGY_MODULE = """
from workers.strategy import Strategy

class Quiet(Strategy):
    def handle_data(self, context, data, ledger):
        pass
"""


@pytest.mark.parametrize("worker", ["process", "shard"])
def test_an_isolated_strategy_is_imported_in_a_child_only(
    write: Write, modules: Path, worker: str
) -> None:
    module = f"apart_{worker}_strategy"
    (modules / f"{module}.py").write_text(STRATEGY_MODULE)
    bad = strategy("bad", f"{module}:Quiet", worker) | {"params": {"x": 1}}
    data = config(strategies=[strategy("ok", f"{module}:Quiet", worker), bad])
    settings = load_settings(write(data), env={})
    found = strategy_problems(settings)
    assert [p.path for p in found] == ["strategies.bad.params"]
    assert "unexpected keyword argument 'x'" in found[0].reason
    assert module not in sys.modules


def test_a_module_that_ends_the_process_is_named(write: Write, modules: Path) -> None:
    (modules / "exits_on_import.py").write_text("import os\nos._exit(3)\n")
    data = config(strategies=[strategy("quits", "exits_on_import:Gone")])
    with pytest.raises(ConfigError) as info:
        check_fund(load_settings(write(data), env={}), "fund.yaml")
    [problem] = info.value.problems
    assert problem.path == "strategies.quits.class"
    assert "ended (exit code 3)" in problem.reason


def test_a_module_that_hangs_is_given_up_on(write: Write, modules: Path) -> None:
    (modules / "hangs_on_import.py").write_text("import time\ntime.sleep(600)\n")
    data = config(
        strategies=[strategy("stuck", "hangs_on_import:Never")],
        deadlines={"control_timeout_s": 1.0},
    )
    [problem] = strategy_problems(load_settings(write(data), env={}))
    assert problem.path == "strategies.stuck.class"
    assert "longer than 1 s" in problem.reason


def test_problems_keep_the_order_of_the_settings(write: Write) -> None:
    strategies = [
        strategy("a", "nowhere_a:X"),
        strategy("b", "nowhere_b:X", worker="inprocess"),
        strategy("c", "nowhere_c:X"),
    ]
    found = strategy_problems(load_settings(write(config(strategies=strategies)), env={}))
    assert [p.path for p in found] == [
        "strategies.a.class",
        "strategies.b.class",
        "strategies.c.class",
    ]


def test_configured_strategies_are_built(write: Write) -> None:
    built = strategy("slow", TREND, worker="inprocess") | {"params": {"fast": 9, "slow": 3}}
    found = strategy_problems(load_settings(write(config(strategies=[built])), env={}))
    assert [p.path for p in found] == ["strategies.slow.params"]
    assert "need 0 < fast < slow" in found[0].reason
