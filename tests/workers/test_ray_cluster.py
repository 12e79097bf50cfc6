"""The local Ray cluster the Ray tests run on: on loopback only, with its own token, started
within a bound, and leaving no process and no file behind when stopped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.ray_cluster import (
    RayCluster,
    RayClusterError,
    listening_addresses,
    memory_pss_kib,
    session_processes,
)

DRIVER = """
import os, ray
ray.init(address=os.environ["ADDRESS"], log_to_driver=False)

@ray.remote(num_cpus=1)
class Probe:
    def pid(self):
        return os.getpid()

probe = Probe.remote()
print(ray.get(probe.pid.remote(), timeout=60), flush=True)
input()  # hold the actor until told
"""


def test_a_cluster_runs_on_loopback_and_leaves_nothing_behind() -> None:
    token = Path.home() / ".ray" / "auth_token"
    token_before = token.read_bytes() if token.is_file() else None
    cluster = RayCluster(num_cpus=1)
    with cluster:
        assert cluster.address.startswith("127.0.0.1:")
        assert cluster.temp_dir is not None and len(str(cluster.temp_dir)) <= 20
        with subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ | cluster.env | {"ADDRESS": cluster.address},
        ) as driver:
            try:
                assert driver.stdout is not None and driver.stdin is not None
                actor_pid = int(driver.stdout.readline())
                processes = cluster.processes()
                assert actor_pid in processes
                assert listening_addresses(processes) == {"127.0.0.1"}
                assert memory_pss_kib(processes) > 0
                driver.stdin.write("\n")
                driver.stdin.flush()
                assert driver.wait(60) == 0
            finally:
                driver.kill()
        temp_dir = cluster.temp_dir
    assert cluster.processes() == []
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
