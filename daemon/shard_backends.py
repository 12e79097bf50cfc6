"""Where the daemon's shards run (`workers.backend`), connected for the run and disconnected
after it: `shard_backend(settings)` yields what `ShardPool` builds its shards with.

- `local`: each shard is a child process of the daemon (`ShardProcess`); nothing to connect.
- `ray`: each shard is a Ray actor (`ShardActor`). The daemon joins the Ray cluster at
  `workers.ray.address` as a driver (`ray.init`; a `ray://` address through the Ray Client;
  null: a Ray started on this machine for the run) in `workers.ray.namespace` (a connection
  the cluster aborts is tried again: `workers.ray_actor.connect`), and leaves it
  at the end (`ray.shutdown`), which ends its actors. Strategies' output stays in the actors'
  logs (`log_to_driver` off): the daemon's standard output carries the fund's summary.

`ray.init` installs a SIGTERM handler of its own: connect before the daemon installs its own
signal handlers (`daemon.app.run_fund` does), so the daemon's graceful stop is the one kept.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from collections.abc import Iterator

from config.models import WorkersSettings
from workers.ray_actor import RAY_EXTRA, connect, ray_api
from workers.shard_backend import MakeShard
from workers.shard_process import ShardProcess
from workers.shard_ray import RayShards


def ray_installed() -> bool:
    """Whether Ray can be imported (without importing it: it takes a second)."""
    try:
        return importlib.util.find_spec("ray") is not None
    except ImportError:  # an import hook that refuses it
        return False


def missing_ray(settings: WorkersSettings) -> str | None:
    """Why the run cannot use its shard backend (None: it can)."""
    if settings.backend == "ray" and not ray_installed():
        return f"backend ray needs Ray, which is not installed: pip install '{RAY_EXTRA}'"
    return None


@contextlib.contextmanager
def shard_backend(settings: WorkersSettings) -> Iterator[MakeShard]:
    """The shard backend of `settings`, connected; disconnected on exit."""
    if settings.backend == "local":
        yield ShardProcess
        return
    ray = ray_api()
    options = settings.ray
    connect(
        ray,
        options.address,
        options.namespace,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    try:
        yield RayShards(ray, num_cpus=options.num_cpus)
    finally:
        ray.shutdown()
