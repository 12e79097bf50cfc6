"""The real daemon gives the same fund, to the state digest, whichever way its strategies
are hosted: in-process, one child process each, in K = 1, 2, 3 shard processes, or in K = 2
shard actors on a Ray cluster; and a sharded fund stopped and restarted recovers the same
fund."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.daemon_process import env_for, run, start, wait_for_slices
from tests.support.ray_cluster import RayCluster


@pytest.fixture(scope="module")
def inprocess_stdout(tmp_path_factory: pytest.TempPathFactory) -> str:
    result = run(env_for(tmp_path_factory.mktemp("inprocess") / "state"))
    assert result.returncode == 0, result.stderr
    assert "state digest: " in result.stdout
    return result.stdout


@pytest.mark.parametrize(
    ("mode", "shards"), [("process", 1), ("shard", 1), ("shard", 2), ("shard", 3)]
)
def test_every_hosting_mode_gives_the_same_digest(
    tmp_path: Path, inprocess_stdout: str, mode: str, shards: int
) -> None:
    env = env_for(tmp_path / "state", mode, PAPERFUND_WORKERS__SHARDS=str(shards))
    result = run(env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == inprocess_stdout


def test_a_sharded_fund_restarts_at_the_same_state(tmp_path: Path, inprocess_stdout: str) -> None:
    env = env_for(tmp_path / "state", "shard", PAPERFUND_WORKERS__SHARDS="2")
    first = run(env)
    second = run(env)
    assert second.returncode == 0, second.stderr
    assert "ready at slice 504" in second.stderr
    assert second.stdout == first.stdout == inprocess_stdout


def ray_env(state: Path, cluster: RayCluster, **extra: str) -> dict[str, str]:
    """The fund in K = 2 shard actors on `cluster` (each reserving no CPU)."""
    return env_for(
        state,
        "shard",
        PAPERFUND_WORKERS__SHARDS="2",
        PAPERFUND_WORKERS__BACKEND="ray",
        PAPERFUND_WORKERS__RAY__ADDRESS=cluster.address,
        PAPERFUND_WORKERS__RAY__NUM_CPUS="0",
        **cluster.env,
        **extra,
    )


def test_shards_on_ray_give_the_same_digest(
    tmp_path: Path, inprocess_stdout: str, ray_cluster: RayCluster
) -> None:
    result = run(ray_env(tmp_path / "state", ray_cluster))
    assert result.returncode == 0, result.stderr
    assert result.stdout == inprocess_stdout


def test_sigterm_stops_a_fund_on_ray_gracefully_and_it_resumes_exactly(
    tmp_path: Path, inprocess_stdout: str, ray_cluster: RayCluster
) -> None:
    """Connecting to Ray installs a SIGTERM handler of Ray's: the daemon's own replaces it,
    so SIGTERM still finishes the slice, snapshots and exits 0."""
    state = tmp_path / "state"
    proc = start(ray_env(state, ray_cluster, PAPERFUND_FEED__SPEED=str(86400 * 50)))
    wait_for_slices(state, 5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    resumed = run(ray_env(state, ray_cluster))
    assert resumed.returncode == 0, resumed.stderr
    at = int(resumed.stderr.split("ready at slice ")[1].split()[0])
    assert 0 < at < 504
    assert resumed.stdout == inprocess_stdout


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (("shard", "2"), ("shard", "3")),
        (("shard", "2"), ("inprocess", "2")),
        (("inprocess", "2"), ("shard", "1")),
    ],
)
def test_a_fund_stopped_midway_resumes_exactly_with_another_hosting(
    tmp_path: Path, inprocess_stdout: str, before: tuple[str, str], after: tuple[str, str]
) -> None:
    """Changing `workers.shards` (or the strategies' `worker`) between two runs moves
    strategies between shards: each is restored from its own snapshot and journal wherever
    it lands, and the fund ends as if it had never stopped."""
    state = tmp_path / "state"
    mode, shards = before
    paced = str(86400 * 50)
    env = env_for(state, mode, PAPERFUND_WORKERS__SHARDS=shards, PAPERFUND_FEED__SPEED=paced)
    proc = start(env)
    wait_for_slices(state, 5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    mode, shards = after
    resumed = run(env_for(state, mode, PAPERFUND_WORKERS__SHARDS=shards))
    assert resumed.returncode == 0, resumed.stderr
    at = int(resumed.stderr.split("ready at slice ")[1].split()[0])
    assert 0 < at < 504
    assert resumed.stdout == inprocess_stdout
