"""The `workers:` section (how `worker: shard` strategies are hosted) and `worker: shard`."""

from __future__ import annotations

import os

import pytest

from config.models import usable_cpus
from tests.config.support import BASE, Write, config, load, problems


def test_defaults_are_one_local_shard_per_cpu_without_a_memory_limit(write: Write) -> None:
    workers = load(write(config())).workers
    assert 1 <= workers.shards <= len(os.sched_getaffinity(0))
    assert (workers.backend, workers.memory_limit_mb) == ("local", None)
    assert workers.statistics == "shards"
    assert (workers.ray.address, workers.ray.namespace) == (None, "paperfund")


def test_a_strategy_may_run_in_a_shard(write: Write) -> None:
    strategies = [{**BASE["strategies"][0], "worker": "shard"}]
    workers = {"shards": 3, "memory_limit_mb": 512, "statistics": "supervisor"}
    settings = load(write(config(strategies=strategies, workers=workers)))
    assert settings.strategies[0].worker == "shard"
    assert (settings.workers.shards, settings.workers.memory_limit_mb) == (3, 512)
    assert settings.workers.statistics == "supervisor"


def test_the_environment_sets_the_shards(write: Write) -> None:
    env = {"PAPERFUND_WORKERS__SHARDS": "5", "PAPERFUND_WORKERS__MEMORY_LIMIT_MB": "64"}
    workers = load(write(config()), env).workers
    assert (workers.shards, workers.memory_limit_mb) == (5, 64)


def test_a_yes_in_yaml_is_not_one_shard(write: Write) -> None:
    """YAML reads `yes` as true; a count never takes a boolean for 1 (from the file or the
    environment, whose JSON-less values are strings)."""
    path = write(config())
    path.write_text(path.read_text() + "workers:\n  shards: yes\n  memory_limit_mb: on\n")
    found = problems(path)
    assert found["workers.shards"].endswith("got a boolean (true)")
    assert found["workers.memory_limit_mb"].endswith("got a boolean (true)")
    env = {"PAPERFUND_WORKERS__SHARDS": "true"}
    assert "workers.shards" in problems(write(config()), env)


def test_the_ray_backend_is_taken_with_its_settings(write: Write) -> None:
    ray = {"address": "ray://head:10001", "namespace": "fund-a", "num_cpus": 0.5}
    workers = load(write(config(workers={"backend": "ray", "ray": ray}))).workers
    assert workers.backend == "ray"
    assert (workers.ray.address, workers.ray.namespace, workers.ray.num_cpus) == (
        "ray://head:10001",
        "fund-a",
        0.5,
    )


@pytest.mark.parametrize(
    ("workers", "field", "words"),
    [
        ({"shards": 0}, "workers.shards", "greater than or equal to 1"),
        ({"memory_limit_mb": 0}, "workers.memory_limit_mb", "greater than or equal to 1"),
        ({"ray": {"num_cpus": -1}}, "workers.ray.num_cpus", "greater than or equal to 0"),
        ({"backend": "dask"}, "workers.backend", "'local' or 'ray'"),
        ({"ray": {"address": ""}}, "workers.ray.address", "at least 1 character"),
        ({"ray": {"namespace": ""}}, "workers.ray.namespace", "at least 1 character"),
        ({"statistics": "book"}, "workers.statistics", "'shards' or 'supervisor'"),
        ({"size": 2}, "workers.size", "unknown option"),
    ],
)
def test_bad_workers_settings_are_named(
    write: Write, workers: dict[str, object], field: str, words: str
) -> None:
    found = problems(write(config(workers=workers)))
    assert field in found and words in found[field], found


@pytest.mark.parametrize(
    ("affinity", "cpu_max", "expected"),
    [
        (8, None, 8),  # no cgroup v2 file
        (8, "max 100000\n", 8),  # no quota
        (8, "200000 100000\n", 2),  # limits.cpu: 2
        (8, "150000 100000\n", 2),  # 1.5 CPUs: rounded up
        (8, "50000 100000\n", 1),  # half a CPU: still one shard
        (2, "800000 100000\n", 2),  # the affinity mask is the smaller
        (0, None, 1),
        (4, "garbage", 4),
    ],
)
def test_the_default_shard_count_follows_the_cpus_the_process_may_use(
    affinity: int, cpu_max: str | None, expected: int
) -> None:
    assert usable_cpus(affinity, cpu_max) == expected
