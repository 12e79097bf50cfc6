"""Mistakes a user makes, run through the real `paperfund check-config` and `paperfund run`:
each exits 2 with one message naming the file, the strategy id or the setting and what to do,
never a traceback, and `run` creates no state directory."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from tests.support.daemon_process import ROOT, cli, env_for, spawn

HEADER = "date,open,high,low,close,volume\n"
ROW = "{day},10,11,9,10.5,100\n"
TREND = "workers.strategies.moving_average:MovingAverageCrossover"


def rows(days: list[int]) -> str:
    return "".join(ROW.format(day=f"2024-01-{d:02d}") for d in days)


def text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content)


def parquet(columns: dict[str, list[Any]], keep: float = 1.0) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        pq.write_table(pa.table(columns), path)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])

    return write


def truncated_gzip(path: Path) -> None:
    data = gzip.compress((HEADER + rows(list(range(2, 29)))).encode())
    path.write_bytes(data[: len(data) // 2])


def directory(path: Path) -> None:
    path.mkdir()


def fifo(path: Path) -> None:
    os.mkfifo(path)


def unreadable(path: Path) -> None:
    path.write_text(HEADER + rows([2, 3]))
    path.chmod(0)


PRICES = {"open": [10.0, 10.0], "high": [11.0, 11.0], "low": [9.0, 9.0], "close": [10.5, 10.5]}

CASES: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("empty", "aaa.csv", text(""), "the file is empty"),
    ("binary bytes", "aaa.csv", lambda p: p.write_bytes(bytes(range(256)) * 4), "not a text"),
    ("header only", "aaa.csv", text(HEADER), "no data rows"),
    ("no close column", "aaa.csv", text("date,open,high,low\n2024-01-02,1,2,1\n"), "'close'"),
    ("bad dates", "aaa.csv", text(HEADER + rows([2]) + "31/01/2024,1,2,1,1,1\n"), "line 3"),
    ("rows in reverse", "aaa.csv", text(HEADER + rows([5, 4, 3, 2])), "presorted"),
    ("every row twice", "aaa.csv", text(HEADER + rows([2, 2, 3, 3])), "duplicate"),
    ("prices are words", "aaa.csv", text(HEADER + "2024-01-02,ten,eleven,nine,ten,1\n"), "number"),
    (
        "wrong delimiter",
        "aaa.csv",
        text(HEADER.replace(",", ";") + "2024-01-02;1;2;1;1;1\n"),
        "';'",
    ),
    ("a directory", "aaa.csv", directory, "is a directory"),
    ("a named pipe", "aaa.csv", fifo, "not a regular file"),
    ("missing", "aaa.csv", lambda path: None, "no such file"),
    (
        "truncated parquet",
        "aaa.parquet",
        parquet({"date": ["2024-01-02"] * 2, **PRICES}, 0.6),
        "Parquet",
    ),
    (
        "parquet without close",
        "aaa.parquet",
        parquet(
            {
                "date": ["2024-01-02", "2024-01-03"],
                "open": [1.0, 1.0],
                "high": [1.0, 1.0],
                "low": [1.0, 1.0],
            }
        ),
        "'close'",
    ),
    ("truncated gzip", "aaa.csv.gz", truncated_gzip, "cannot read"),
    (
        "wide file without symbols",
        "closes.csv",
        text("date\n2024-01-02\n2024-01-03\n"),
        "one column per symbol",
    ),
]
if os.geteuid() != 0:  # root reads any file whatever its mode
    CASES.append(("unreadable", "aaa.csv", unreadable, "permission denied"))


def settings_file(tmp_path: Path, feed: dict[str, Any], **changes: Any) -> Path:
    settings: dict[str, Any] = {
        "fund": {"name": "errors", "capital": 100000},
        "feed": {"kind": "replay", **feed},
        "strategies": [
            {"id": "trend", "class": TREND, "params": {"fast": 2, "slow": 5}, "allocation": 0.5}
        ],
        "state": {"dir": str(tmp_path / "state")},
        "control": {"http": {"port": 0}},
        **changes,
    }
    path = tmp_path / "fund.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PAPERFUND_")}


def assert_refused(tmp_path: Path, config: Path, *words: str) -> None:
    """check-config and run both exit 2 with a message holding `words`, no traceback, and
    run leaves no state behind."""
    for args in (("check-config", str(config)), ("run", "--config", str(config))):
        result = cli(*args, env=clean_env())
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        assert result.stderr.count("invalid configuration") == 1, result.stderr
        for word in words:
            assert word in result.stderr, (word, result.stderr)
        assert not (tmp_path / "state").exists(), args


@pytest.mark.parametrize(("case", "name", "make", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_malformed_replay_file_is_refused_before_any_state(
    tmp_path: Path, case: str, name: str, make: Callable[[Path], None], words: str
) -> None:
    data = tmp_path / name
    make(data)
    config = settings_file(tmp_path, {"paths": [str(data)]})
    assert_refused(tmp_path, config, str(data), "feed.paths", words)


def test_good_csv_and_parquet_files_pass(tmp_path: Path) -> None:
    good = tmp_path / "aaa.csv"
    good.write_text(HEADER + rows(list(range(2, 20))))
    also = tmp_path / "bbb.parquet"
    parquet({"date": ["2024-01-02", "2024-01-03"], **PRICES})(also)
    config = settings_file(tmp_path, {"paths": [str(good), str(also)]})
    result = cli("check-config", str(config), env=clean_env())
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "state").exists()


def test_the_shipped_replay_example_passes() -> None:
    config = ROOT / "config/examples/replay-daily.yaml"
    result = cli("check-config", str(config), env=clean_env())
    assert result.returncode == 0, result.stderr


def test_a_file_per_symbol_is_named_by_its_symbol(tmp_path: Path) -> None:
    good, empty = tmp_path / "good.csv", tmp_path / "empty.csv"
    good.write_text(HEADER + rows([2, 3]))
    empty.write_text("")
    config = settings_file(tmp_path, {"paths": {"AAA": str(good), "BBB": str(empty)}})
    assert_refused(tmp_path, config, f"feed.paths.BBB: {empty}: the file is empty")


@pytest.mark.parametrize("worker", ["inprocess", "process"])
def test_strategies_that_do_not_load_are_named_by_id(tmp_path: Path, worker: str) -> None:
    data = tmp_path / "aaa.csv"
    data.write_text(HEADER + rows([2, 3]))
    strategies = [
        {"id": "slow", "class": TREND, "params": {"fast": 9, "slow": 3}, "allocation": 0.2},
        {"id": "typo", "class": TREND, "params": {"fats": 2}, "allocation": 0.2},
        {"id": "ghost", "class": "no_such_module:Strategy", "allocation": 0.2},
    ]
    strategies = [{**s, "worker": worker} for s in strategies]
    config = settings_file(tmp_path, {"paths": [str(data)]}, strategies=strategies)
    assert_refused(
        tmp_path,
        config,
        "strategies.slow.params: MovingAverageCrossover",
        "need 0 < fast < slow",
        "strategies.typo.params: MovingAverageCrossover: got an unexpected keyword argument 'fats'",
        "strategies.ghost.class: no_such_module:Strategy: module 'no_such_module' not found",
    )


def test_a_port_in_use_names_the_setting_and_creates_no_state(tmp_path: Path) -> None:
    data = tmp_path / "aaa.csv"
    data.write_text(HEADER + rows([2, 3]))
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        config = settings_file(tmp_path, {"paths": [str(data)]}, control={"http": {"port": port}})
        result = cli("run", "--config", str(config), env=clean_env())
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"control.http.port: 127.0.0.1:{port} is already in use" in result.stderr
    assert "PAPERFUND_CONTROL__HTTP__PORT" in result.stderr
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("worker", ["inprocess", "process"])
def test_a_strategy_that_fails_to_initialize_stops_run_naming_it(
    tmp_path: Path, worker: str
) -> None:
    data = tmp_path / "aaa.csv"
    data.write_text(HEADER + rows([2, 3]))
    failing = "tests.support.rogue_strategies:FailsToInitialize"
    strategies = [{"id": "fragile", "class": failing, "allocation": 0.2, "worker": worker}]
    config = settings_file(tmp_path, {"paths": [str(data)]}, strategies=strategies)
    assert cli("check-config", str(config), env=clean_env()).returncode == 0  # it builds
    result = cli("run", "--config", str(config), env=clean_env())
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "strategy fragile failed to initialize" in result.stderr
    assert "no data source configured" in result.stderr


def test_a_second_daemon_on_the_same_fund_and_port_says_the_fund_is_taken(
    tmp_path: Path,
) -> None:
    env = env_for(tmp_path / "state", PAPERFUND_FEED__SPEED=str(86400 / 10))
    first = spawn(env)
    assert first.stderr is not None
    port = ""
    for line in first.stderr:
        if "http api listening" in line:
            port = json.loads(line)["port"]
        if "ready at slice" in line:
            break
    try:
        second = cli("run", env={**env, "PAPERFUND_CONTROL__HTTP__PORT": str(port)})
        assert second.returncode == 3, second.stderr  # not the port: the fund is in use
        assert "another paperfund daemon is running this fund" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 0


@pytest.mark.parametrize("where", ["a-file", "a-file/state"])
def test_a_state_dir_that_cannot_be_created_is_refused_by_run(tmp_path: Path, where: str) -> None:
    data = tmp_path / "aaa.csv"
    data.write_text(HEADER + rows([2, 3]))
    (tmp_path / "a-file").write_text("not a directory")
    config = settings_file(tmp_path, {"paths": [str(data)]}, state={"dir": str(tmp_path / where)})
    result = cli("run", "--config", str(config), env=clean_env())
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "state.dir: " in result.stderr and "is not a directory" in result.stderr
    assert "PAPERFUND_STATE__DIR" in result.stderr


@pytest.mark.parametrize(
    "args", [("check-config", "{}"), ("run", "--config", "{}"), ("ctl", "--config", "{}", "status")]
)
def test_the_config_error_header_is_printed_once(tmp_path: Path, args: tuple[str, ...]) -> None:
    config = tmp_path / "fund.yaml"
    config.write_text("fund: {name: x, captial: 5}\n")
    result = cli(*(arg.format(config) for arg in args), env=clean_env())
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("invalid configuration") == 1, result.stderr
    assert f"invalid configuration ({config}):" in result.stderr
    assert "fund.captial: unknown option; did you mean `capital`?" in result.stderr
    assert not (tmp_path / "state").exists()
