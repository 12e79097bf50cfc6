"""`StrategyHost`: one strategy, its context, ledger and history, and its message protocol."""

from __future__ import annotations

import pickle
import sys
from decimal import Decimal

import pytest

from core.costs import FixedBasisPoints, PerShare
from core.errors import InsufficientFundsError, InvalidInputError, InvariantViolation
from core.market import Slice
from core.step import StepReport
from workers.errors import RemoteError, StrategyLoadError, StrategyNotSaveable, WorkerError
from workers.host import LedgerConfig, StrategyHost, build_host, unwrap
from workers.strategies import MovingAverageCrossover

MA = "workers.strategies.moving_average:MovingAverageCrossover"
SAMPLES = "tests.workers.sample_strategies"
COSTLY = LedgerConfig(commission=PerShare(), slippage=FixedBasisPoints(Decimal(5)))


def _host(ledger: LedgerConfig = COSTLY, cash: int = 100_000) -> StrategyHost:
    host = build_host("ma", MA, {"fast": 3, "slow": 8}, ledger, 50)
    host.initialize()
    host.deposit(Decimal(cash))
    return host


def _run(host: StrategyHost, slices: list[Slice]) -> list[StepReport]:
    return [host.step(market, trading=True).report for market in slices]


def _holding(window: list[Slice]) -> StrategyHost:
    """A host that traded 40 slices and holds ORCL (bought on the 41st)."""
    host = _host()
    _run(host, window[:40])
    host.ledger.order("ORCL", 100)
    host.step(window[40], trading=False)
    assert "ORCL" in host.ledger.positions
    return host


def test_builds_the_strategy_and_its_ledger_from_the_config(window: list[Slice]) -> None:
    host = _host()
    assert isinstance(host.strategy, MovingAverageCrossover) and host.strategy.fast == 3
    assert host.context.strategy_id == "ma" and host.context.averages == {}
    assert host.history.max_bars == 50
    fills = [f for report in _run(host, window[:60]) for f in report.fills]
    assert fills and all(f.commission > 0 and f.slippage > 0 for f in fills)


def test_step_reports_value_and_duration(window: list[Slice]) -> None:
    host = _host()
    outcome = host.step(window[0], trading=True)
    assert outcome.report.strategy_id == "ma" and outcome.report.ts == window[0].ts
    assert outcome.report.value == 100_000 and outcome.report.traded
    assert 0 < outcome.duration_s < 1 and not outcome.overrun
    assert host.step(window[1], trading=False).report.traded is False
    assert host.history.bars("ORCL", 5) == [window[0]["ORCL"], window[1]["ORCL"]]


def test_step_refuses_a_slice_that_is_not_after_the_last(window: list[Slice]) -> None:
    host = _host()
    host.step(window[1], trading=True)
    for market in (window[1], window[0]):
        with pytest.raises(InvalidInputError, match="is not after"):
            host.step(market, trading=True)


def test_deposit_and_withdraw_report_values(window: list[Slice]) -> None:
    host = _host(cash=1000)
    assert host.deposit(Decimal(500)) == 1500
    assert host.withdraw(Decimal(200)) == (Decimal(200), Decimal(0), Decimal(1300), Decimal(1300))
    _run(host, window[:40])
    host.ledger.order("ORCL", 1)
    host.step(window[40], trading=False)
    assert host.ledger.positions
    value = host.ledger.portfolio_value
    moved, costs, after, cash = host.withdraw(None)
    assert after == 0 == value - moved - costs == cash
    assert not host.ledger.positions and not host.ledger.open_orders


def test_withdrawing_too_much_withdraws_everything(window: list[Slice]) -> None:
    host = _holding(window)
    moved, costs, after, cash = host.withdraw(Decimal(10**9))
    assert after == 0 == cash and moved > 0 and costs > 0


def test_a_withdrawal_with_forced_sales_reports_the_cash_left(window: list[Slice]) -> None:
    host = _holding(window)
    cash_before = host.ledger.cash
    moved, costs, after, cash = host.withdraw(cash_before + 1)  # more than its cash: sales
    assert costs > 0 and host.ledger.cash == cash != cash_before - moved
    assert after == host.ledger.portfolio_value


def test_release_positions_cancels_orders_and_hands_positions_over(window: list[Slice]) -> None:
    host = _holding(window)
    host.ledger.order("ORCL", 1)
    held = {a: p.to_state() for a, p in host.ledger.positions.items()}
    cash = host.ledger.cash
    assert {p["asset"]: p for p in host.release_positions()} == held
    assert not host.ledger.positions and not host.ledger.open_orders
    assert host.ledger.cash == cash


def test_cancel_orders_counts_them(window: list[Slice]) -> None:
    host = _host()
    host.step(window[0], trading=False)
    host.ledger.order("ORCL", 1)
    host.ledger.order("NVDA", 2)
    assert host.cancel_orders("paused") == 2
    assert host.cancel_orders("paused") == 0


def test_snapshot_restores_strategy_context_ledger_and_history(window: list[Slice]) -> None:
    host = _host()
    _run(host, window[:100])
    blob = host.snapshot()
    state, context = host.ledger.to_state(), pickle.loads(pickle.dumps(host.context))
    later = _run(host, window[100:150])
    host.restore(blob)
    assert host.ledger.to_state() == state and host.context == context
    assert host.ledger.commission_model == COSTLY.commission  # models come from the config
    assert _run(host, window[100:150]) == later  # same history, same decisions


def test_restore_into_a_fresh_host_continues_identically(window: list[Slice]) -> None:
    first = _host()
    _run(first, window[:100])
    second = build_host("ma", MA, {"fast": 3, "slow": 8}, COSTLY, 50)
    second.restore(first.snapshot())
    assert _run(second, window[100:]) == _run(first, window[100:])
    assert second.ledger == first.ledger and second.context == first.context


def test_restore_rejects_other_snapshots() -> None:
    host = _host()
    other = build_host("other", MA, {}, COSTLY, 50)
    with pytest.raises(InvalidInputError, match="cannot restore"):
        host.restore(other.snapshot())
    with pytest.raises(InvalidInputError, match="known version"):
        host.restore(pickle.dumps({"version": 99}))
    assert host.ledger.cash == 100_000


def test_failing_initialize_is_a_load_error() -> None:
    host = build_host("f", f"{SAMPLES}:FailingInit", {}, LedgerConfig(), 10)
    with pytest.raises(StrategyLoadError, match="failed to initialize: KeyError"):
        host.initialize()


def test_handle_answers_ok_or_error() -> None:
    host = _host()
    assert host.handle(("deposit", (Decimal(1),))) == ("ok", Decimal(100_001))
    assert host.handle(("deposit", (Decimal(-1),)))[:2] == ("error", "InvalidInputError")
    assert host.handle(("__init__", ()))[:2] == ("error", "WorkerError")
    assert host.handle(("deposit",))[:2] == ("error", "ValueError")  # malformed message
    assert host.handle(("withdraw", (None,)))[0] == "ok"


def test_unpicklable_strategy_state_fails_the_snapshot_only() -> None:
    host = build_host("u", f"{SAMPLES}:Unpicklable", {}, LedgerConfig(), 10)
    host.initialize()
    reply = host.handle(("snapshot", ()))
    assert reply[0] == "error"
    with pytest.raises(StrategyNotSaveable, match=r"strategy u cannot be saved: context\.callback"):
        unwrap(reply)


def test_unwrap_keeps_known_error_classes() -> None:
    assert unwrap(("ok", 5)) == 5
    for cls in (InvalidInputError, InsufficientFundsError, InvariantViolation, WorkerError):
        with pytest.raises(cls, match=r"^why$"):
            unwrap(("error", cls.__name__, "why"))
    with pytest.raises(RemoteError, match="ZeroDivisionError: why") as caught:
        unwrap(("error", "ZeroDivisionError", "why"))
    assert caught.value.type_name == "ZeroDivisionError"


def test_ledger_config_pickles() -> None:
    assert pickle.loads(pickle.dumps(COSTLY)) == COSTLY
    assert pickle.loads(pickle.dumps(LedgerConfig(allow_short=True))).allow_short


class _Saved:
    """An object a strategy keeps; the test then takes its class away, as renamed code would."""


def test_a_snapshot_its_code_no_longer_loads_names_the_strategy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = _host()
    host.context.kept = _Saved()
    blob = host.snapshot()
    monkeypatch.delattr(sys.modules[__name__], "_Saved")  # the class was renamed since
    again = build_host("ma", MA, {"fast": 3, "slow": 8}, COSTLY, 50)
    with pytest.raises(StrategyLoadError, match="strategy ma: its snapshot cannot be loaded: "):
        again.restore(blob)
