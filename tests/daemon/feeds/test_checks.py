"""Checking a replay feed's files before a run: what passes, what is refused, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from daemon.feeds.checks import check_replay_files
from tests.support.market_data import DATA_DIR

HEADER = "date,open,high,low,close\n"


def day_rows(days: range, bad: frozenset[int] = frozenset()) -> str:
    return "".join(f"2024-01-{d:02d},{'x' if d in bad else 10},11,9,10\n" for d in days)


def check(path: Path, **options: Any) -> list[tuple[str, str]]:
    return check_replay_files({"paths": [path], **options})


@pytest.mark.parametrize("path", sorted(DATA_DIR.glob("*.csv")), ids=lambda p: p.name)
def test_the_shipped_files_pass(path: Path) -> None:
    assert check(path) == []


def test_a_few_bad_bars_are_left_to_the_feed(tmp_path: Path) -> None:
    path = tmp_path / "aaa.csv"
    path.write_text(HEADER + day_rows(range(2, 12), bad=frozenset({3, 7})))
    assert check(path) == []


def test_half_the_bars_rejected_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "aaa.csv"
    path.write_text(HEADER + day_rows(range(2, 6), bad=frozenset({2, 3})))
    [(setting, reason)] = check(path)
    assert setting == "feed.paths"
    assert reason.startswith(f"{path}: 2 of its 4 bars would be rejected (2 non_finite;")


def test_a_date_format_is_used_as_the_feed_uses_it(tmp_path: Path) -> None:
    path = tmp_path / "aaa.csv"
    path.write_text(HEADER + "02/01/2024,10,11,9,10\n03/01/2024,10,11,9,10\n")
    assert "line 2: cannot parse the timestamp '02/01/2024'" in check(path)[0][1]
    assert check(path, date_format="%d/%m/%Y") == []


def test_a_window_without_rows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "aaa.csv"
    path.write_text(HEADER + day_rows(range(2, 6)))
    later = datetime(2025, 1, 1, tzinfo=UTC)
    [(_, reason)] = check(path, start=later)
    assert reason == f"{path}: no row between feed.start and feed.end"


def test_a_wide_file_without_the_wanted_symbols_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "closes.csv"
    path.write_text("date,AAA,BBB\n2024-01-02,1,2\n")
    assert check(path) == []
    [(_, reason)] = check(path, symbols=["ZZZ"])
    assert "none of feed.symbols is a column" in reason


def test_files_given_by_symbol_are_named_by_symbol(tmp_path: Path) -> None:
    good, missing = tmp_path / "good.csv", tmp_path / "missing.csv"
    good.write_text(HEADER + day_rows(range(2, 4)))
    found = check_replay_files({"paths": {"AAA": good, "BBB": missing}})
    assert [setting for setting, _ in found] == ["feed.paths.BBB"]
    assert found[0][1].startswith(f"{missing}: no such file")


def test_a_file_the_symbols_filter_leaves_out_is_not_judged(tmp_path: Path) -> None:
    kept, skipped = tmp_path / "aaa.csv", tmp_path / "bbb.csv"
    kept.write_text(HEADER + day_rows(range(2, 4)))
    skipped.write_text(HEADER)  # would be refused if the feed read it
    assert check_replay_files({"paths": [kept, skipped], "symbols": ["AAA"]}) == []


def test_a_chosen_symbol_no_file_has_is_refused(tmp_path: Path) -> None:
    kept = tmp_path / "aaa.csv"
    kept.write_text(HEADER + day_rows(range(2, 4)))
    [(setting, reason)] = check_replay_files({"paths": [kept], "symbols": ["AAA", "ZZZ"]})
    assert setting == "feed.symbols"
    assert reason.startswith("no file of feed.paths has bars of ZZZ (a file in a list")


def test_a_filter_that_leaves_nothing_to_replay_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "bad.csv"  # its symbol is BAD, by its name
    other.write_text(HEADER + day_rows(range(2, 4)))
    [(setting, reason)] = check_replay_files({"paths": [other], "symbols": ["AAA"]})
    assert setting == "feed.symbols"
    assert "no file of feed.paths has bars of AAA" in reason
