"""A `StrategyHost` in a Ray actor on a real local Ray cluster: the same reports, ledger state
and snapshot content as the same host in this process; errors that keep their class; and a
dead actor that every call reports as `RayActorError`.

Snapshot bytes are compared by content (`tests.support.snapshots`): an actor, like a child
process, unpickles each slice it receives, so its history holds a copy of a symbol's name
per slice where this process shares one string, and pickle writes shared and copied strings
differently."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.costs import FixedBasisPoints, PerShare
from core.errors import InvalidInputError
from core.market import Slice
from core.step import StepReport
from tests.support.ray_cluster import RayCluster
from tests.support.snapshots import snapshot_content
from workers.errors import RemoteError, StrategyLoadError, WorkerError
from workers.host import LedgerConfig, StrategyHost, build_host
from workers.ray_actor import call, connect, start_actor, start_host_actor

MA = "workers.strategies.moving_average:MovingAverageCrossover"
SLEEPING = "tests.workers.sample_strategies:Sleeping"
DEMO_PARAMS = {"fast": 10, "slow": 40}  # the demo fund's `trend` (config/examples/demo.yaml)
LEDGER = LedgerConfig(commission=PerShare(), slippage=FixedBasisPoints(Decimal(5)))
CASH = Decimal(250_000)
SLICES = 150
CALL_TIMEOUT_S = 60.0
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "examples" / "demo.yaml"


def local_host() -> StrategyHost:
    host = build_host("trend", MA, DEMO_PARAMS, LEDGER, 100)
    host.initialize()
    host.deposit(CASH)
    return host


def actor_host(ray: Any) -> Any:
    actor = start_host_actor(ray, "trend", MA, DEMO_PARAMS, LEDGER, history_bars=100)
    call(ray, actor, "initialize", (), CALL_TIMEOUT_S)
    call(ray, actor, "deposit", (CASH,), CALL_TIMEOUT_S)
    return actor


def test_an_actor_hosts_the_same_strategy_as_this_process(ray: Any, window: list[Slice]) -> None:
    """Step for step the same reports; at the end the same ledger state and snapshot
    content; and the actor's snapshot restores here into a host that goes on identically."""
    local = local_host()
    actor = actor_host(ray)
    try:
        pid = ray.get(actor.pid.remote(), timeout=CALL_TIMEOUT_S)
        assert pid != os.getpid()
        remote_reports: list[StepReport] = []
        for market in window[:SLICES]:
            local_report = local.step(market, trading=True).report
            outcome = call(ray, actor, "step", (market, True), CALL_TIMEOUT_S)
            remote_reports.append(outcome.report)
            assert outcome.report == local_report
        assert sum(len(report.fills) for report in remote_reports) > 0  # it traded
        assert call(ray, actor, "ledger_state", (), CALL_TIMEOUT_S) == local.ledger_state()
        snapshot = call(ray, actor, "snapshot", (), CALL_TIMEOUT_S)
        assert isinstance(snapshot, bytes)
        assert snapshot_content(snapshot) == snapshot_content(local.snapshot())

        restored = build_host("trend", MA, DEMO_PARAMS, LEDGER, 100)
        restored.restore(snapshot)
        for market in window[SLICES : SLICES + 20]:
            expected = local.step(market, trading=True).report
            assert restored.step(market, trading=True).report == expected
        assert restored.ledger_state() == local.ledger_state()
        assert snapshot_content(restored.snapshot()) == snapshot_content(local.snapshot())
    finally:
        ray.kill(actor)


def test_errors_in_the_actor_keep_their_class(ray: Any, window: list[Slice]) -> None:
    actor = actor_host(ray)
    try:
        call(ray, actor, "step", (window[1], True), CALL_TIMEOUT_S)
        with pytest.raises(InvalidInputError, match="is not after"):
            call(ray, actor, "step", (window[0], True), CALL_TIMEOUT_S)
        with pytest.raises(WorkerError, match="unknown operation 'erase'"):
            call(ray, actor, "erase", (), CALL_TIMEOUT_S)
        with pytest.raises(StrategyLoadError, match="its snapshot cannot be loaded"):
            call(ray, actor, "restore", (b"not a snapshot",), CALL_TIMEOUT_S)
        with pytest.raises(RemoteError) as raised:  # a class the caller does not know
            call(ray, actor, "step", ("not a slice", True), CALL_TIMEOUT_S)
        assert raised.value.type_name == "AttributeError"
        # nothing half-done: the host goes on from where it was
        outcome = call(ray, actor, "step", (window[2], True), CALL_TIMEOUT_S)
        assert outcome.report.ts == window[2].ts and outcome.report.value == CASH
    finally:
        ray.kill(actor)


def test_a_strategy_that_cannot_be_built_fails_the_first_call(ray: Any) -> None:
    actor = start_host_actor(ray, "bad", MA, {"fast": 40, "slow": 10})
    with pytest.raises(ray.exceptions.RayActorError) as raised:
        call(ray, actor, "initialize", (), CALL_TIMEOUT_S)
    assert "need 0 < fast < slow" in str(raised.value)


def kill_with_ray(ray: Any, actor: Any, pid: int) -> None:
    ray.kill(actor)


def kill_its_process(ray: Any, actor: Any, pid: int) -> None:
    """A crash: SIGKILL to the actor's process."""
    os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("kill", [kill_with_ray, kill_its_process])
def test_a_dead_actor_raises_ray_actor_error(
    ray: Any, ray_cluster: RayCluster, window: list[Slice], kill: Any
) -> None:
    """The death signal a caller turns into a rebuild: a step in flight when the actor dies
    (here one that would take 10 minutes) and every call after it raise `RayActorError`; Ray
    does not bring the actor back."""
    actor = start_host_actor(ray, "sleeper", SLEEPING, {"on_bar": 2, "sleep_s": 600})
    call(ray, actor, "initialize", (), CALL_TIMEOUT_S)
    call(ray, actor, "step", (window[0], True), CALL_TIMEOUT_S)
    pid = ray.get(actor.pid.remote(), timeout=CALL_TIMEOUT_S)
    assert pid in ray_cluster.processes()
    in_flight = actor.handle.remote(("step", (window[1], True)))
    kill(ray, actor, pid)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(in_flight, timeout=CALL_TIMEOUT_S)
    for market in window[2:4]:
        with pytest.raises(ray.exceptions.RayActorError):
            call(ray, actor, "step", (market, True), CALL_TIMEOUT_S)


class Counter:
    """A target other than a strategy host (as a shard host would be): it counts messages."""

    def __init__(self, name: str) -> None:
        self.name, self.seen = name, 0

    def handle(self, message: tuple[str, tuple[Any, ...]]) -> tuple[Any, ...]:
        self.seen += 1
        return ("ok", (self.name, message, self.seen, os.getpid()))


def test_an_actor_hosts_any_target_built_in_it(ray: Any) -> None:
    actor = start_actor(ray, Counter, ("shard-0",))
    try:
        first = call(ray, actor, "step", (1,), CALL_TIMEOUT_S)
        second = call(ray, actor, "step", (2,), CALL_TIMEOUT_S)
        assert first[:3] == ("shard-0", ("step", (1,)), 1)
        assert second[:3] == ("shard-0", ("step", (2,)), 2)  # one target, state kept
        assert first[3] == second[3] != os.getpid()
    finally:
        ray.kill(actor)


# ---------------------------------------------------------------- through the Ray Client

CLIENT_DRIVER = """
import json, sys
from decimal import Decimal
import ray
from tests.support.market_data import daily_slices, iter_window
from tests.workers.test_ray_actor import CASH, DEMO_PARAMS, LEDGER, MA
from workers.ray_actor import call, connect, start_actor, start_host_actor

connect(ray, sys.argv[1], "paperfund-client", log_to_driver=False)
actor = start_host_actor(ray, "trend", MA, DEMO_PARAMS, LEDGER, history_bars=100)
call(ray, actor, "initialize", ())
call(ray, actor, "deposit", (CASH,))
for market in list(iter_window(daily_slices(), "1999-06-01", "2000-08-31"))[:int(sys.argv[2])]:
    call(ray, actor, "step", (market, True))
print(json.dumps(call(ray, actor, "ledger_state", ()), default=str, sort_keys=True))
ray.kill(actor)
for _ in range(200):  # the kill lands asynchronously: calls may still be served until then
    try:
        call(ray, actor, "ledger_state", ())
    except ray.exceptions.RayActorError:
        print("RayActorError")
        break
"""


def test_a_ray_client_gets_the_same_ledger(ray_cluster: RayCluster, window: list[Slice]) -> None:
    """A driver outside the cluster, as the daemon on Kubernetes (`ray://host:10001`): the
    `ray` extra's client reaches the head's client port, and the host gives the same
    ledger; a killed actor raises `RayActorError` there too."""
    steps = 60
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_DRIVER, ray_cluster.client_address, str(steps)],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | ray_cluster.env,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ledger, death = done.stdout.strip().splitlines()[-2:]
    local = local_host()
    for market in window[:steps]:
        local.step(market, trading=True)
    assert ledger == json.dumps(local.ledger_state(), default=str, sort_keys=True)
    assert death == "RayActorError"


# ---------------------------------------------------------------- Ray stays optional

BLOCK_RAY = """
import importlib.abc, sys
class NoRay(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
sys.meta_path.insert(0, NoRay())
"""


CHECK_CONFIG = """
from daemon.cli import main
sys.exit(main(["check-config", sys.argv[1]]))
"""


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_paperfund_does_not_import_ray() -> None:
    done = python(
        "import sys, workers, workers.ray_actor, workers.factory, daemon.cli, config\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_ray_paperfund_runs_and_says_what_to_install() -> None:
    done = python(
        BLOCK_RAY + "import sys\n"
        "from workers.errors import RayUnavailableError\n"
        "from workers.ray_actor import ray_api\n"
        "try:\n"
        "    ray_api()\n"
        "except RayUnavailableError as exc:\n"
        "    print(exc)\n"
        "from daemon.cli import main\n"
        "sys.exit(main(['check-config', sys.argv[1]]))\n",
        str(DEMO_CONFIG),
    )
    assert done.returncode == 0, done.stderr
    assert "Ray is not installed: pip install 'paperfund[ray]'" in done.stdout


def test_without_ray_the_ray_backend_exits_2_naming_the_extra() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_RAY + CHECK_CONFIG, str(DEMO_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"PAPERFUND_WORKERS__BACKEND": "ray"},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "workers.backend: backend ray needs Ray, which is not installed" in done.stderr
    assert "pip install 'paperfund[ray]'" in done.stderr


class AbortingRay:
    """A stand-in for the `ray` module whose `init` aborts `aborts` times, then connects
    (the race of ray-project/ray#63202 cannot be provoked on demand)."""

    def __init__(self, aborts: int) -> None:
        self.aborts, self.calls, self.shutdowns = aborts, 0, 0

    def init(self, **options: Any) -> None:
        self.calls += 1
        if self.calls <= self.aborts:
            raise ConnectionAbortedError("Initialization failure from server")

    def shutdown(self) -> None:
        self.shutdowns += 1


@pytest.mark.parametrize(("aborts", "connected"), [(0, True), (2, True), (3, False)])
def test_connect_tries_an_aborted_connection_again_within_its_budget(
    aborts: int, connected: bool
) -> None:
    fake, waits = AbortingRay(aborts), []
    if connected:
        connect(fake, "ray://head:10001", "fund", sleep=waits.append)
    else:
        with pytest.raises(ConnectionAbortedError):
            connect(fake, "ray://head:10001", "fund", sleep=waits.append)
    assert fake.calls == min(aborts + 1, 3)
    assert fake.shutdowns == aborts
    assert waits == [1.0, 2.0][: min(aborts, 2)]
