"""PAPERFUND_* environment variables override the file, nested with `__`."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from config import FundSettings, load_settings
from config.allocation import RiskParityAlgorithm
from config.models import SyntheticFeed
from tests.config.support import MOMENTUM, Write, config, load, problems


def test_nested_values_override_the_file_and_keep_its_siblings(write: Write) -> None:
    path = write(config(feed={"kind": "synthetic", "seed": 3, "bars": 10}))
    env = {
        "PAPERFUND_FUND__CAPITAL": "250000.50",
        "PAPERFUND_FEED__SEED": "11",
        "PAPERFUND_DEADLINES__STEP_TIMEOUT_S": "2.5",
    }
    settings = load(path, env)
    assert settings.fund.capital == Decimal("250000.50")
    assert settings.fund.name == "test"
    assert isinstance(settings.feed, SyntheticFeed)
    assert (settings.feed.seed, settings.feed.bars) == (11, 10)
    assert settings.deadlines.step_timeout_s == 2.5


def test_overrides_reach_through_the_algorithm_union(write: Write) -> None:
    path = write(config(allocation={"algorithm": {"name": "risk_parity"}}))
    env = {
        "PAPERFUND_ALLOCATION__ALGORITHM__PARAMS__LOOKBACK_WINDOW": "40",
        "PAPERFUND_ALLOCATION__REBALANCER__FREQUENCY": "weekly",
    }
    settings = load(path, env)
    algorithm = settings.allocation.algorithm
    assert isinstance(algorithm, RiskParityAlgorithm)
    assert algorithm.params.lookback_window == 40
    assert settings.allocation.rebalancer is not None
    assert settings.allocation.rebalancer.frequency == "weekly"


def test_variable_names_are_case_insensitive(write: Write) -> None:
    settings = load(write(config()), {"paperfund_fund__capital": "7"})
    assert settings.fund.capital == Decimal("7")


def test_a_list_given_as_json_replaces_the_file_list(write: Write) -> None:
    strategies = [{"id": "solo", "class": MOMENTUM, "allocation": "0.9", "worker": "process"}]
    settings = load(write(config()), {"PAPERFUND_STRATEGIES": json.dumps(strategies)})
    assert [(s.id, s.allocation, s.worker) for s in settings.strategies] == [
        ("solo", Decimal("0.9"), "process")
    ]


def test_null_sets_an_option_to_none(write: Write) -> None:
    path = write(config(allocation={"rebalancer": {"frequency": "monthly"}}))
    env = {"PAPERFUND_ALLOCATION__REBALANCER": "null", "PAPERFUND_FEED__BARS": "null"}
    settings = load(path, env)
    assert settings.allocation.rebalancer is None
    assert isinstance(settings.feed, SyntheticFeed)
    assert settings.feed.bars is None


def test_os_environ_is_read_when_no_env_is_given(
    write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFUND_FUND__NAME", "from-env")
    assert load_settings(write(config())).fund.name == "from-env"


def test_the_environment_also_applies_to_direct_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAPERFUND_FUND__CAPITAL", "5")
    settings = FundSettings(fund={"name": "x", "capital": 1})  # type: ignore[arg-type]
    assert settings.fund.capital == Decimal("5")


def test_unknown_variables_are_errors_naming_them(write: Write) -> None:
    found = problems(
        write(config()),
        {
            "PAPERFUND_FUNDS__CAPITAL": "1",
            "PAPERFUND_FUND__CAPITOL": "1",
            "PAPERFUND_CONFIG": "ignored.yaml",
            "OTHER": "ignored",
        },
    )
    assert set(found) == {"PAPERFUND_FUNDS__CAPITAL", "fund.capitol"}
    assert "funds" in found["PAPERFUND_FUNDS__CAPITAL"]


def test_invalid_values_from_the_environment_name_the_field(write: Write) -> None:
    found = problems(write(config()), {"PAPERFUND_FUND__CAPITAL": "-1"})
    assert "greater than 0" in found["fund.capital"]


def test_invalid_json_names_the_variable(write: Write) -> None:
    found = problems(write(config()), {"PAPERFUND_FEED__SYMBOLS": "[AAA"})
    assert "PAPERFUND_FEED__SYMBOLS is not valid JSON" in found["feed.symbols"]
