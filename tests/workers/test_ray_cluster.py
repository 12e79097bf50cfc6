"""The local Ray cluster the Ray tests run on: on loopback only, with its own token, started
within a bound, and leaving no process and no file behind when stopped."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.ray_cluster import (
    RayCluster,
    RayClusterError,
    listening_addresses,
    memory_pss_kib,
    session_processes,
)
from workers.ray_actor import start_host_actor

MA = "workers.strategies.moving_average:MovingAverageCrossover"


def test_the_cluster_listens_on_loopback_only(ray: Any, ray_cluster: RayCluster) -> None:
    actor = start_host_actor(ray, "probe", MA, {"fast": 2, "slow": 3})
    try:
        pid = ray.get(actor.pid.remote(), timeout=60)
        processes = ray_cluster.processes()
        assert pid in processes
        assert listening_addresses(processes) == {"127.0.0.1"}
        assert ray_cluster.address.startswith("127.0.0.1:")
        assert ray_cluster.client_address.startswith("ray://127.0.0.1:")
    finally:
        ray.kill(actor)


def test_a_stopped_cluster_leaves_nothing_behind() -> None:
    """Every process of the cluster ends (its idle workers included), its directory goes,
    and `~/.ray/auth_token` is neither written nor read."""
    token = Path.home() / ".ray" / "auth_token"
    token_before = token.read_bytes() if token.is_file() else None
    cluster = RayCluster(num_cpus=1)
    with cluster:
        assert cluster.temp_dir is not None and len(str(cluster.temp_dir)) <= 20
        temp_dir = cluster.temp_dir
        processes = cluster.processes()
        assert len(processes) > 3  # ray start, the state service, the raylet, agents, workers
        assert memory_pss_kib(processes) > 0
    assert cluster.processes() == []
    assert all(not Path(f"/proc/{pid}").exists() for pid in processes)
    assert not temp_dir.exists()
    assert (token.read_bytes() if token.is_file() else None) == token_before


def test_start_up_is_bounded_and_says_why() -> None:
    cluster = RayCluster(num_cpus=1, startup_timeout_s=0.2)
    with pytest.raises(RayClusterError, match=r"did not start within 0.2 s"):
        cluster.start()
    assert cluster.sid and cluster.processes() == []
    assert cluster.temp_dir is not None and not cluster.temp_dir.exists()


OWNER = """
import sys
from tests.support.ray_cluster import RayCluster
cluster = RayCluster(num_cpus=1)
cluster.start()
print(cluster.sid, cluster.temp_dir, flush=True)
sys.stdin.read()
"""


def test_a_killed_owner_takes_its_cluster_down() -> None:
    """The process that started a cluster is killed outright (SIGKILL, no teardown): the
    cluster stops all the same."""
    root = Path(__file__).resolve().parents[2]
    with subprocess.Popen(
        [sys.executable, "-c", OWNER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    ) as owner:
        try:
            assert owner.stdout is not None
            sid_text, temp_dir = owner.stdout.readline().split()
            sid = int(sid_text)
            assert session_processes(sid)
        finally:
            owner.kill()
    deadline = time.monotonic() + 30
    while session_processes(sid):
        assert time.monotonic() < deadline, "the cluster outlived its owner"
        time.sleep(0.1)
    shutil.rmtree(temp_dir, ignore_errors=True)  # its owner could not clean up
