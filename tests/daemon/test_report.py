"""`paperfund report` through the real command line, and the progress line of `run`."""

from __future__ import annotations

import io
import os
import pickle
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from core.market import Slice
from daemon.feeds import ReplayFeed, SyntheticFeed
from daemon.history import FundHistory
from daemon.persistence import StateStore
from daemon.progress import Progress, feed_length
from daemon.report import load_state, run_report
from tests.support.daemon_process import ROOT, STRATEGIES, cli, env_for

START = datetime(2024, 1, 1, tzinfo=UTC)
BARS = 120
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STRATEGY_IDS = [s["id"] for s in STRATEGIES]


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("fund") / "state"
    result = cli("run", env=env_for(state, PAPERFUND_FEED__BARS=str(BARS)))
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr  # no progress line when stderr is not a terminal
    return state


def test_run_draws_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    parent, child = pty.openpty()
    env = env_for(tmp_path / "state", PAPERFUND_FEED__BARS="30")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "daemon.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=child,
            timeout=300,
            check=False,
        )
        os.close(child)
        err = _read_all(parent)
    finally:
        os.close(parent)
    assert proc.returncode == 0, err
    assert "] 100% 30/30  " in err
    assert "\r[#-----" in err  # drawn in place from the first slice
    assert err.endswith("\r\n")  # and the line is finished


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_report_prints_the_summary_and_writes_charts_and_page(
    state_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = cli("report", "--state", str(state_dir), "--out", str(out), "--name", "demo")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("fund demo: value ")
    assert f"as of slice {BARS} " in result.stdout
    assert "rebalance list (" in result.stdout
    assert "  #1 " in result.stdout
    for sid in STRATEGY_IDS:
        assert sid in result.stdout
    for name in ("equity.png", "allocation.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 10_000
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 2
    for external in ('src="http', "src='http", 'href="http', "href='http", "url(", "@import"):
        assert external not in page
    for sid in STRATEGY_IDS:
        assert sid in page
    assert "<h1>Fund demo</h1>" in page


def test_the_report_names_the_fund_its_snapshot_holds_not_the_directory(
    state_dir: Path, tmp_path: Path
) -> None:
    assert state_dir.name != "demo"  # the fund in it is named demo by its settings
    result = cli("report", "--state", str(state_dir), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("fund demo: value ")
    assert "<h1>Fund demo</h1>" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_report_writes_into_the_state_directory_by_default(state_dir: Path) -> None:
    assert run_report(state_dir, out=lambda _: None) == 0
    for name in ("equity.png", "allocation.png", "report.html"):
        assert (state_dir / name).is_file()


def test_the_snapshot_holds_one_history_point_per_slice(state_dir: Path) -> None:
    history = load_state(state_dir).history
    assert isinstance(history, FundHistory)
    assert len(history) == history.seen == BARS
    assert history.strategy_ids == STRATEGY_IDS
    assert history.fund_value[0] == pytest.approx(1_000_000, rel=0.01)


def test_a_missing_state_directory_exits_2(tmp_path: Path) -> None:
    result = cli("report", "--state", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "no state directory at" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_a_directory_without_fund_state_exits_2(tmp_path: Path) -> None:
    err = io.StringIO()
    assert run_report(tmp_path, err=err) == 2
    assert "holds no fund state" in err.getvalue()


def test_a_store_without_snapshot_exits_2(tmp_path: Path) -> None:
    StateStore.open(tmp_path).close()
    err = io.StringIO()
    assert run_report(tmp_path, err=err) == 2
    assert "no snapshot" in err.getvalue()


def test_a_store_in_use_exits_2(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        store.write_snapshot(0, pickle.dumps({"version": 1}))
        err = io.StringIO()
        assert run_report(tmp_path, err=err) == 2
    assert "in use by a running daemon" in err.getvalue()


# ---- progress ------------------------------------------------------------------------------
class FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def market(day: int) -> Slice:
    return Slice(START + timedelta(days=day), {})


def test_progress_writes_nothing_off_a_terminal() -> None:
    stream = FakeStream(tty=False)
    progress = Progress(stream, 10)
    for day in range(10):
        progress.update(market(day))
    progress.finish()
    assert stream.getvalue() == ""
    assert progress.count == 10


def test_progress_bar_is_throttled_and_always_shows_the_end() -> None:
    stream, clock = FakeStream(tty=True), FakeClock()
    progress = Progress(stream, 4, interval_s=0.1, clock=clock)
    progress.update(market(0))
    clock.now = 0.05
    progress.update(market(1))  # too soon: not drawn
    clock.now = 0.2
    progress.update(market(2))
    progress.update(market(3))  # the last slice is drawn however soon
    progress.finish()
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 3
    assert "1/4" in frames[0] and "3/4" in frames[1]
    assert frames[2].startswith("[" + "#" * 30 + "] 100% 4/4  2024-01-04 00:00")
    assert stream.getvalue().endswith("\n")


def test_progress_without_a_length_counts_slices() -> None:
    stream, clock = FakeStream(tty=True), FakeClock()
    progress = Progress(stream, None, interval_s=0.0, clock=clock)
    for day in range(12):
        progress.update(market(day))
    progress.finish()
    frames = stream.getvalue().split("\r")[1:]
    assert frames[9].rstrip() == "slice 10  2024-01-10 00:00"
    assert frames[-1] == "slice 12  2024-01-12 00:00\n"


def test_progress_pads_over_a_longer_previous_line() -> None:
    stream = FakeStream(tty=True)
    progress = Progress(stream, None, interval_s=0.0)
    progress.update(Slice(START, {}))
    progress.count = 9  # pretend: the next line is the 10th slice, one character longer
    progress.update(market(1))
    progress.count = 0
    progress.update(market(2))
    first, second, third = stream.getvalue().split("\r")[1:]
    assert len(third) == len(second) > len(first)


def test_feed_length_is_known_for_a_finite_synthetic_feed() -> None:
    assert feed_length(SyntheticFeed(bars=42)) == 42
    assert feed_length(SyntheticFeed(bars=None)) is None
    assert feed_length(cast(ReplayFeed, object())) is None
