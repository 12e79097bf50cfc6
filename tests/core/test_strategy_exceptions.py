"""An exception that strategy code raises is put into words without trusting it: a
`__str__` that raises, or returns megabytes, is the strategy's error (or fault), never the
fund's. The same fund gives the same records and ledgers through every driver."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from core import PortfolioAllocator
from core.errors import MAX_ERROR_CHARS, UNREADABLE, InvalidInputError, describe, exception_text
from tests.support.drivers import DRIVERS, Planned, RunResult, flat_slices, run, run_every_driver
from tests.workers.sample_strategies import AsyncHandleData, GeneratorInitialize
from workers.errors import StrategyLoadError
from workers.factory import WorkerSpec, create_worker

ROGUES = "tests.support.rogue_strategies"
SAMPLES = "tests.workers.sample_strategies"
STEADY = f"{ROGUES}:Steady"


class _Loud(Exception):
    def __str__(self) -> str:
        raise KeyboardInterrupt


class _Nameless(type):
    @property
    def __name__(cls) -> str:  # type: ignore[override]
        raise RuntimeError("no name")


class _Anonymous(Exception, metaclass=_Nameless):
    pass


class _Text(str):
    def __len__(self) -> int:
        raise RuntimeError("no length")


class _OddText(Exception):
    def __str__(self) -> str:
        return _Text("odd")


def test_unreadable_huge_and_odd_messages_are_put_into_words() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert describe(Unprintable()) == f"Unprintable: {UNREADABLE}"
    huge = exception_text(ValueError("x" * (MAX_ERROR_CHARS + 5)))
    assert huge == "x" * MAX_ERROR_CHARS + "... (5 more characters)"
    assert describe(_Anonymous("a")) == "<unnamed exception>: a"
    assert describe(_OddText()) == "_OddText: odd"
    assert describe(ValueError("plain")) == "ValueError: plain"


def test_a_ctrl_c_while_describing_is_not_swallowed() -> None:
    with pytest.raises(KeyboardInterrupt):
        describe(_Loud())


@pytest.mark.usefixtures("ray")  # the "ray" driver's shards run on it
@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("unprintable", f"_Unprintable: {UNREADABLE}"),
        ("huge", "ValueError: " + "x" * MAX_ERROR_CHARS + "... (10,483,760 more characters)"),
        ("unprintable_exit", f"_UnprintableExit raised by strategy code: {UNREADABLE}"),
    ],
)
async def test_every_driver_books_a_badly_raising_strategy_as_its_own_fault(
    how: str, error: str
) -> None:
    plan = [
        Planned("rogue", f"{SAMPLES}:RaisesBadly", {"how": how}, Decimal("0.4")),
        Planned("steady", STEADY, {}, Decimal("0.4")),
    ]
    slices = flat_slices(5)
    results: dict[str, RunResult] = {d: await run(d, plan, slices) for d in DRIVERS}
    reference = results["allocator"]
    state, quarantined, pause_reason, last_error, _, observations = reference.records["rogue"]
    assert (state, quarantined, observations) == ("paused", True, 1 + 5)
    assert error in (last_error or "") + (pause_reason or "")
    assert reference.records["steady"][0] == "running"
    for driver, result in results.items():
        assert result.records == reference.records, driver
        assert result.ledgers == reference.ledgers, driver
        assert result.fund_value == reference.fund_value, driver


@pytest.mark.parametrize("mode", ["inprocess", "process"])
async def test_an_initialize_that_raises_badly_is_a_load_error_of_the_strategy(mode: str) -> None:
    worker = create_worker(WorkerSpec("bad", f"{ROGUES}:InitializesBadly", {}, mode=mode))  # type: ignore[arg-type]
    expected = f"failed to initialize: _Unprintable: {UNREADABLE}"
    try:
        with pytest.raises(StrategyLoadError, match=re.escape(expected)):
            await worker.start()
    finally:
        await worker.close()


def test_async_and_generator_strategies_are_refused_when_they_join() -> None:
    fund = PortfolioAllocator(Decimal(100_000))
    for strategy, message in (
        (AsyncHandleData(), "handle_data is an async or generator function"),
        (GeneratorInitialize(), "initialize is an async or generator function"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            fund.add_strategy("bad", strategy, Decimal("0.1"))
    assert fund.strategies == {}


@pytest.mark.usefixtures("ray")  # the "ray" driver's shards run on it
async def test_a_coroutine_returned_by_handle_data_is_an_error_in_every_driver() -> None:
    plan = [
        Planned("hidden", f"{ROGUES}:AsyncBehindADecorator", {}, Decimal("0.3")),
        Planned("steady", f"{ROGUES}:Steady", {}, Decimal("0.3")),
    ]
    reference = await run_every_driver(plan, flat_slices(3))
    error = reference.records["hidden"][3]
    assert error is not None and error.startswith("handle_data returned a coroutine")
    assert reference.records["hidden"][:2] == ("paused", True)  # one error quarantines here
