"""Every invalid config is a ConfigError naming each field (dotted path) and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, check_imports
from tests.config.support import BASE, MOMENTUM, TREND, Write, config, load, problems


def test_unknown_keys_are_named_at_every_level(write: Write) -> None:
    data = config(colour="red", fund={"name": "x", "capital": 1, "currency": "USD"})
    data["strategies"][1]["weight"] = 0.1
    data["allocation"] = {"algorithm": {"name": "risk_parity", "params": {"window": 5}}}
    found = problems(write(data))
    assert set(found) == {
        "colour",
        "fund.currency",
        "strategies.b.weight",
        "allocation.algorithm.params.window",
    }
    assert all(reason.startswith("unknown option") for reason in found.values())


def test_message_lists_one_path_and_reason_per_line(write: Write) -> None:
    path = write(config(fund={"name": "x", "capital": -5}, history_bars=0))
    with pytest.raises(ConfigError) as info:
        load(path)
    lines = str(info.value).splitlines()
    assert str(path) in lines[0]
    assert any(line.strip().startswith("fund.capital: ") for line in lines[1:])
    assert any(line.strip().startswith("history_bars: ") for line in lines[1:])


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"fund": {"name": "x", "capital": -1}}, "fund.capital", "greater than 0"),
        ({"fund": {"name": "x", "capital": "lots"}}, "fund.capital", "number"),
        ({"fund": {"name": "x", "capital": True}}, "fund.capital", "bool"),
        ({"fund": {"name": "bad name", "capital": 1}}, "fund.name", "not a valid name"),
        ({"fund": {"name": "x"}}, "fund.capital", "missing"),
        ({"history_bars": "many"}, "history_bars", "integer"),
        ({"history_bars": True}, "history_bars", "got a boolean (true)"),
        ({"workers": {"shards": True}}, "workers.shards", "got a boolean (true)"),
        ({"workers": {"memory_limit_mb": False}}, "workers.memory_limit_mb", "boolean"),
        ({"workers": {"ray": {"num_cpus": True}}}, "workers.ray.num_cpus", "boolean"),
        ({"deadlines": {"step_timeout_s": True}}, "deadlines.step_timeout_s", "boolean"),
        ({"state": {"snapshot_every": True}}, "state.snapshot_every", "boolean"),
        ({"risk_free_rate": False}, "risk_free_rate", "boolean"),
        ({"periods_per_year": 0}, "periods_per_year", "greater than 0"),
        ({"periods_per_year": float("nan")}, "periods_per_year", "finite"),
        ({"feed": {"kind": "carrier-pigeon"}}, "feed.kind", "carrier-pigeon"),
        ({"feed": {"kind": "synthetic", "bars": 0}}, "feed.bars", "greater than 0"),
        ({"feed": {"kind": "synthetic", "interval": "0s"}}, "feed.interval", "positive"),
        ({"feed": {"kind": "synthetic", "symbols": ["A", "A"]}}, "feed.symbols", "duplicate"),
        ({"feed": {"kind": "replay", "paths": []}}, "feed.paths", "at least 1"),
        ({"feed": {"kind": "redis", "url": "http://x"}}, "feed.url", "match"),
        ({"state": {"fsync": "sometimes"}}, "state.fsync", "every_slice"),
        ({"state": {"keep_snapshots": 0}}, "state.keep_snapshots", "greater than or equal to 1"),
        ({"deadlines": {"max_consecutive_errors": 0}}, "deadlines.max_consecutive_errors", "1"),
        (
            {"ledger": {"slippage": {"kind": "volume_share", "params": {"price_impact": 1}}}},
            "ledger.slippage.params.price_impact",
            "less than 1",
        ),
        (
            {"ledger": {"fill": {"params": {"volume_limit": 0}}}},
            "ledger.fill.params.volume_limit",
            "greater than 0",
        ),
        (
            {"allocation": {"rebalancer": {"frequency": "hourly"}}},
            "allocation.rebalancer.frequency",
            "monthly",
        ),
        (
            {"allocation": {"algorithm": {"name": "kelly", "params": {"kelly_fraction": 0}}}},
            "allocation.algorithm.params.kelly_fraction",
            "greater than 0",
        ),
    ],
)
def test_invalid_values_name_the_field(
    write: Write, changes: dict[str, object], field: str, words: str
) -> None:
    found = problems(write(config(**changes)))
    assert field in found, found
    assert words in found[field]


def test_allocations_must_be_fractions(write: Write) -> None:
    data = config()
    data["strategies"][1]["allocation"] = 1.5
    found = problems(write(data))
    assert "less than or equal to 1" in found["strategies.b.allocation"]


def test_allocations_must_not_sum_above_one(write: Write) -> None:
    data = config()
    data["strategies"][1]["allocation"] = 0.61
    found = problems(write(data))
    assert "sum to 1.01" in found["strategies"]


def test_floats_convert_through_their_shortest_repr(write: Write) -> None:
    data = config()
    data["strategies"] = [{"id": f"s{i}", "class": MOMENTUM, "allocation": 0.1} for i in range(10)]
    assert sum(s.allocation for s in load(write(data)).strategies) == 1


def test_strategy_ids_must_be_unique(write: Write) -> None:
    data = config()
    data["strategies"][1]["id"] = "a"
    found = problems(write(data))
    # an id two entries share cannot name either: they are named by their place in the list
    assert "duplicate strategy id 'a'" in found["strategies.1.id"]
    assert "strategies.0 has it too" in found["strategies.1.id"]


def test_catalog_names_must_not_reuse_a_strategy_id(write: Write) -> None:
    found = problems(write(config(catalog={"a": {"class": TREND}})))
    assert "catalog.a" in found


def test_malformed_class_path_is_rejected_when_loading(write: Write) -> None:
    data = config()
    data["strategies"][0]["class"] = "not a path!"
    found = problems(write(data))
    assert "package.module:Class" in found["strategies.a.class"]


def test_check_imports_names_each_failing_strategy(write: Write) -> None:
    data = config(catalog={"extra": {"class": "workers.strategies.momentum:Nope"}})
    data["strategies"][0]["class"] = "no_such_package.module:Strategy"
    data["strategies"][1]["params"] = {"lookbak": 3}
    settings = load(write(data))  # loading does not import strategy code
    with pytest.raises(ConfigError) as info:
        check_imports(settings)
    found = {p.path: p.reason for p in info.value.problems}
    assert set(found) == {"strategies.a.class", "strategies.b.params", "catalog.extra.class"}
    assert "no_such_package" in found["strategies.a.class"]
    assert "lookbak" in found["strategies.b.params"]
    assert "Nope" in found["catalog.extra.class"]


def test_a_class_without_handle_data_is_not_a_strategy(write: Write) -> None:
    data = config()
    data["strategies"][0]["class"] = "decimal:Decimal"
    with pytest.raises(ConfigError, match=r"strategies\.a\.class: .*handle_data"):
        check_imports(load(write(data)))


def test_unknown_entry_point_names_are_reported(write: Write) -> None:
    data = config()
    data["strategies"][0]["class"] = "not-installed-strategy"
    with pytest.raises(ConfigError, match=r"strategies\.a\.class: .*entry point"):
        check_imports(load(write(data)))


def test_combinations_the_core_rejects_name_the_field(write: Write) -> None:
    allocation = {
        "algorithm": {"name": "risk_parity", "constraints": {"default_min": 0.6}},
        "rebalancer": {"frequency": "monthly", "cooldown_days": 30},
    }
    found = problems(write(config(allocation=allocation)))
    assert "exceeds its maximum" not in str(found)
    assert "allocation.algorithm.constraints" in found  # 2 x 0.6 above the budget
    assert "would block monthly" in found["allocation.rebalancer.cooldown_days"]


def test_min_observations_must_fit_the_window(write: Write) -> None:
    params = {"lookback_window": 10, "min_observations": 20}
    found = problems(
        write(
            config(allocation={"algorithm": {"name": "hierarchical_risk_parity", "params": params}})
        )
    )
    assert "exceeds lookback_window" in found["allocation.algorithm.params.min_observations"]


def test_replay_bounds_must_be_ordered(write: Write) -> None:
    feed = {"kind": "replay", "paths": ["a.csv"], "start": "2020-01-02", "end": "2020-01-01"}
    assert "before start" in problems(write(config(feed=feed)))["feed.end"]


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("fund.json", "{}", "unsupported extension"),
        ("fund.yaml", "fund: [unclosed", "cannot parse"),
        ("fund.toml", "fund = ", "cannot parse"),
        ("fund.yaml", "- a list", "mapping"),
        ("fund.yaml", "", "missing"),
    ],
)
def test_unreadable_files_are_config_errors(
    tmp_path: Path, name: str, text: str, words: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=words):
        load(path)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.yaml")


def test_base_config_is_valid(write: Write) -> None:
    assert [s.id for s in load(write(BASE)).strategies] == ["a", "b"]
