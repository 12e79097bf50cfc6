"""The `paperfund` command, run as a real subprocess."""

from __future__ import annotations

from core.records import RebalanceTrigger
from daemon.demo import run_demo
from tests.support.daemon_process import cli


def test_demo_runs_and_is_deterministic() -> None:
    first = cli("demo", "--bars", "120", "--seed", "3")
    second = cli("demo", "--bars", "120", "--seed", "3")
    assert first.returncode == 0, first.stderr
    assert "fund demo: value" in first.stdout
    for sid in ("trend", "momentum", "mean_reversion"):
        assert sid in first.stdout
    assert first.stdout == second.stdout


def test_unknown_command_fails_with_usage() -> None:
    result = cli("fly")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_the_demo_records_its_scheduled_triggers() -> None:
    fund = run_demo(bars=80, out=lambda _: None)
    triggers = [r.trigger for r in fund.rebalance_history]
    assert triggers[0] is RebalanceTrigger.INITIAL
    assert set(triggers[1:]) == {RebalanceTrigger.CALENDAR}
