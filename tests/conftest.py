"""Fixtures shared by every test directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.ray_cluster import RayCluster


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A local Ray head on loopback (2 CPUs), started once for the session, with this process
    connected to it as a driver; stopped, every process of it ended, after the session."""
    with RayCluster(num_cpus=2) as cluster:
        saved = {name: os.environ.get(name) for name in cluster.env}
        os.environ.update(cluster.env)
        import ray

        ray.init(address=cluster.address, namespace="paperfund-tests", log_to_driver=False)
        try:
            yield cluster
        finally:
            ray.shutdown()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture(autouse=True)
def _ray_for_the_ray_driver(request: pytest.FixtureRequest) -> None:
    """A test parametrized with `driver` "ray" (`tests.support.drivers`) gets the session's Ray
    connection; no other test starts it."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("driver") == "ray":
        request.getfixturevalue("ray")


@pytest.fixture(scope="session")
def ray(ray_cluster: RayCluster) -> Any:
    """The `ray` module, connected to `ray_cluster`."""
    import ray

    return ray
