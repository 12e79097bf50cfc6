"""What a config error says: strategies by id, file and line of a syntax error, close
matches for misspelt options, one line per problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import ConfigError, Problem
from tests.config.support import MOMENTUM, TREND, Write, config, load, problems


def _strategy(sid: object, **fields: object) -> dict[str, object]:
    return {"id": sid, "class": MOMENTUM, "allocation": 0.1, **fields}


def test_strategies_are_named_by_id(write: Write) -> None:
    data = config()
    data["strategies"][1]["allocation"] = 1.5
    data["strategies"][0]["clas"] = TREND
    found = problems(write(data))
    assert "strategies.b.allocation" in found
    assert "strategies.a.clas" in found
    assert not any(path.startswith(("strategies.0", "strategies.1")) for path in found)


def test_entries_without_a_usable_id_keep_their_place_in_the_list(write: Write) -> None:
    entries = [_strategy("ok"), _strategy("a.b", allocation=2), {"class": MOMENTUM}]
    found = problems(write(config(strategies=entries)))
    assert "strategies.1.allocation" in found  # "a.b" would read as two levels
    assert "strategies.2.id" in found  # no id at all
    assert not any(path.startswith("strategies.ok") for path in found)


def test_toml_strategies_are_named_by_id(tmp_path: Path) -> None:
    path = tmp_path / "fund.toml"
    path.write_text(
        '[fund]\nname = "x"\ncapital = 1\n'
        f'[[strategies]]\nid = "slow"\nclass = "{MOMENTUM}"\nallocation = 2\nparms = {{}}\n'
    )
    found = problems(path)
    assert "less than or equal to 1" in found["strategies.slow.allocation"]
    assert found["strategies.slow.parms"] == "unknown option; did you mean `params`?"


def test_environment_strategies_are_named_by_id(write: Write) -> None:
    env = {"PAPERFUND_STRATEGIES": json.dumps([_strategy("fast", allocation=3)])}
    found = problems(write(config()), env)
    assert set(found) == {"strategies.fast.allocation"}


def test_check_imports_names_strategies_by_id(write: Write) -> None:
    from config import check_imports

    data = config()
    data["strategies"][1]["params"] = {"lookbak": 3}
    with pytest.raises(ConfigError) as info:
        check_imports(load(write(data)))
    assert [p.path for p in info.value.problems] == ["strategies.b.params"]


@pytest.mark.parametrize(
    ("changes", "path", "hint"),
    [
        ({"fund": {"name": "x", "captial": 1}}, "fund.captial", "did you mean `capital`?"),
        (
            {"feed": {"kind": "replay", "paths": ["a.csv"], "colums": {}}},
            "feed.colums",
            "did you mean `columns`?",
        ),
        (
            {"feed": {"kind": "replay", "paths": ["a.csv"], "columns": {"clse": "c"}}},
            "feed.columns.clse",
            "did you mean `close`?",
        ),
        ({"catalog": {"x": {"class": TREND, "parms": {}}}}, "catalog.x.parms", "`params`"),
        ({"control": {"http": {"prot": 1}}}, "control.http.prot", "did you mean `port`?"),
        (
            {"allocation": {"algorithm": {"name": "kelly", "constraints": {"max_totl": 1}}}},
            "allocation.algorithm.constraints.max_totl",
            "did you mean `max_total`?",
        ),
        ({"capital": 5}, "capital", "`capital` belongs under `fund`"),
        ({"control": {"port": 5}}, "control.port", "`port` belongs under `control.http`"),
    ],
)
def test_unknown_options_get_the_closest_known_one(
    write: Write, changes: dict[str, object], path: str, hint: str
) -> None:
    found = problems(write(config(**changes)))
    assert found[path].startswith("unknown option; ")
    assert hint in found[path]


def test_nothing_is_suggested_when_nothing_is_close(write: Write) -> None:
    assert problems(write(config(zzzzzz=1)))["zzzzzz"] == "unknown option"


def test_unknown_environment_settings_get_the_closest_variable(write: Write) -> None:
    found = problems(write(config()), {"PAPERFUND_FUDN__CAPITAL": "5"})
    assert "did you mean `PAPERFUND_FUND__CAPITAL`?" in found["PAPERFUND_FUDN__CAPITAL"]


@pytest.mark.parametrize(
    ("name", "text", "where", "words"),
    [
        ("fund.yaml", "fund:\n  name: [unclosed\n  capital: 1\n", ":3:10", "cannot parse YAML"),
        ("fund.yaml", "fund:\n  name: x\n capital: 1\n", ":3:2", "cannot parse YAML"),
        ("fund.toml", '[fund]\nname = "x"\ncapital = \n', ":3:11", "cannot parse TOML"),
        ("fund.toml", "[fund", "", "cannot parse TOML"),
    ],
)
def test_syntax_errors_name_the_file_and_line(
    tmp_path: Path, name: str, text: str, where: str, words: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    (problem,) = info.value.problems
    assert problem.path == f"{path}{where}"
    assert problem.reason.startswith(words)
    assert "unicode string" not in str(info.value)
    assert len(str(info.value).splitlines()) == 2  # the header, then the one problem


def test_a_config_file_that_is_not_text_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "fund.yaml"
    path.write_bytes(b"fund:\n  name: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load(path)


def test_each_problem_is_one_line() -> None:
    error = ConfigError([Problem("strategies.a.class", "import failed:\n  line two")], "f.yaml")
    assert str(error).splitlines() == [
        "invalid configuration (f.yaml):",
        "  strategies.a.class: import failed:   line two",
    ]
