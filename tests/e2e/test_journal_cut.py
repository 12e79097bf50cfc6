"""A journal record that fails every time it is replayed: the real daemon stops with exit 4
and a message naming the record and the way out, every time, until `paperfund cut-journal`
deletes it; the fund then resumes from the state before it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from core.market import Bar, Slice
from daemon.cli import EXIT_CONFIG, EXIT_RECOVERY
from daemon.persistence import StateStore, encode_slice
from tests.support.daemon_process import cli, env_for, run


def append_stale_slice(state: Path) -> int:
    """A slice dated before the fund's first: well-formed, but no replay can step it."""
    ts = datetime(2020, 1, 1, tzinfo=UTC)
    with StateStore.open(state) as store:
        seq = store.append("slice", encode_slice(Slice(ts, {"AAA": Bar.flat(ts, "AAA", 10)})))
        store.flush()
    return seq


def test_a_record_failing_on_replay_stops_startup_until_the_journal_is_cut(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    env = env_for(state, PAPERFUND_FEED__BARS="5")
    first = run(env)
    assert first.returncode == 0, first.stderr
    seq = append_stale_slice(state)
    for _ in range(2):  # every restart fails the same way: no crash loop, an operator acts
        failed = run(env)
        assert failed.returncode == EXIT_RECOVERY, failed.stderr
        assert f"journal record {seq} (slice) fails on replay: ValueError" in failed.stderr
        assert f"paperfund cut-journal --config FILE --at {seq}" in failed.stderr
        assert "Traceback" not in failed.stderr
    dry = cli("cut-journal", "--at", str(seq), env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"would delete journal record {seq} and after: 1 records (1 slice)" in dry.stdout
    assert run(env).returncode == EXIT_RECOVERY  # a dry run changes nothing
    assert cli("cut-journal", "--at", str(seq + 1), "--yes", env=env).returncode == EXIT_CONFIG
    elsewhere = env | {"PAPERFUND_STATE__DIR": str(tmp_path / "none")}
    assert cli("cut-journal", "--at", "1", env=elsewhere).returncode == EXIT_CONFIG
    assert not (tmp_path / "none").exists()  # nothing is created where there was no fund
    cut = cli("cut-journal", "--at", str(seq), "--yes", env=env)
    assert cut.returncode == 0, cut.stderr
    assert f"the fund resumes from record {seq - 1}" in cut.stdout
    resumed = run(env)
    assert resumed.returncode == 0, resumed.stderr
    assert "ready at slice 5" in resumed.stderr
    assert resumed.stdout == first.stdout
