"""kill -9 of a real writer process: what it reported as stored is there after reopening.

The writer prints a line after each append (or commit) returns; the test reads lines until
a randomly chosen count, then SIGKILLs it mid-stream: no sleeps decide the timing.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from daemon.persistence import StateStore
from daemon.persistence.database import side_file
from tests.daemon.persistence.crash_writer import SMALL_SNAPSHOT
from tests.daemon.persistence.store_support import assert_prefix, db_path, payload_for

REPO = Path(__file__).resolve().parents[3]
WATCHDOG_S = 15.0


@contextmanager
def writer(*args: str) -> Iterator[subprocess.Popen[str]]:
    """The writer child, killed by a watchdog if a test stops reading it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.daemon.persistence.crash_writer", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(WATCHDOG_S, proc.kill)
    watchdog.start()
    try:
        yield proc
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def read_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        stderr = proc.stderr.read() if proc.stderr else ""
        pytest.fail(f"writer exited ({proc.returncode}) early: {stderr}")
    return line.strip()


def kill_and_drain(proc: subprocess.Popen[str]) -> list[str]:
    """SIGKILL, then collect what the writer printed before it died."""
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return out.split()


@pytest.mark.parametrize(
    ("fsync", "word", "seed"),
    [("every_slice", "appended", 1), ("every_slice", "appended", 2), ("off", "appended", 3),
     ("interval", "committed", 4)],
)  # fmt: skip
def test_kill_during_appends_keeps_every_reported_record(
    tmp_path: Path, fsync: str, word: str, seed: int
) -> None:
    target = random.Random(seed).randrange(20, 400)
    reported = 0
    with writer("append", str(tmp_path), fsync) as proc:
        while reported < target:
            said, seq = read_line(proc).split()
            assert said == word
            reported = int(seq)
        late = kill_and_drain(proc)
    reported = max([reported, *(int(tok) for tok in late if tok.isdigit())])
    with StateStore.open(tmp_path, fsync) as store:
        report = store.recovery_report
        assert report.clean, report.summary()  # a kill is not damage: nothing to cut
        last = assert_prefix(store, at_least=reported)
        assert store.append("slice", payload_for(last + 1)) == last + 1


def test_kill_while_writing_a_large_snapshot_keeps_the_previous_one(tmp_path: Path) -> None:
    size = 48 * 1024 * 1024
    wal = side_file(db_path(tmp_path), "-wal")
    with writer("snapshot", str(tmp_path), str(size)) as proc:
        said, wal_before = read_line(proc).split()
        assert said == "ready"
        assert read_line(proc) == "writing"
        # Kill once the snapshot's pages are visibly streaming into the WAL, well before its
        # commit: the WAL must grow by 48 MiB before the transaction can commit.
        deadline = time.monotonic() + WATCHDOG_S
        while wal.stat().st_size < int(wal_before) + 4 * 1024 * 1024:
            assert time.monotonic() < deadline, "the snapshot never reached the WAL"
            assert proc.poll() is None
            time.sleep(0.001)  # polling interval of the condition above, not a timing guess
        late = kill_and_drain(proc)
    assert "written" not in late
    with StateStore.open(tmp_path) as store:
        assert store.recovery_report.clean, store.recovery_report.summary()
        snapshot = store.latest_snapshot()
        assert snapshot is not None
        assert (snapshot.journal_seq, snapshot.payload) == (10, SMALL_SNAPSHOT)
        assert assert_prefix(store) == 10
