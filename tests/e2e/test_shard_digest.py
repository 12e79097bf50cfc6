"""The real daemon gives the same fund, to the state digest, whichever way its strategies
are hosted: in-process, one child process each, or in K = 1, 2, 3 shard processes; and a
sharded fund stopped and restarted recovers the same fund."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.daemon_process import env_for, run


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
