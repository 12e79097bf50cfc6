"""The Prometheus configuration in deploy/prometheus: promtool accepts the scrape config and
the alerting rules, the rules' unit tests pass, and those tests check every alert both
firing and not firing. (test_grafana.py loads the same rules into a real Prometheus that
scrapes a real daemon.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.daemon_process import ROOT
from tests.support.prometheus_server import promtool_binary

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES = PROMETHEUS_DIR / "rules.yml"
RULES_TEST = PROMETHEUS_DIR / "rules_test.yml"
ALERTS = {
    "PaperfundDown",
    "PaperfundNotReady",
    "PaperfundFeedStale",
    "PaperfundStrategyQuarantined",
    "PaperfundDrawdown",
    "PaperfundRebalanceFailures",
    "PaperfundCommandRejectionsSpiking",
    "PaperfundRedisDisconnected",
    "PaperfundSnapshotTooOld",
}
SEVERITIES = {"critical", "warning"}
METRIC_NAME = re.compile(r"\b(?:paperfund_[a-z_]+|up)\b")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = promtool_binary()
    if tool is None:
        pytest.fail("promtool not found: install the Debian package prometheus")
    return subprocess.run(
        [tool, *args],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    groups = load(RULES)["groups"]
    assert [group["name"] for group in groups] == ["paperfund"]
    return [rule for rule in groups[0]["rules"] if "alert" in rule]


def test_promtool_accepts_the_config() -> None:
    done = promtool("check", "config", str(CONFIG))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout


def test_promtool_accepts_the_rules() -> None:
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(ALERTS)} rules found" in done.stdout


def test_the_rules_unit_tests_pass() -> None:
    done = promtool("test", "rules", str(RULES_TEST))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_test_rules_does_fail_on_a_wrong_expectation(tmp_path: Path) -> None:
    """The unit tests can fail: the same file, expecting an alert that does not fire."""
    document = load(RULES_TEST)
    document["rule_files"] = [str(RULES)]
    first = document["tests"][0]["alert_rule_test"][0]
    first["exp_alerts"] = [{"exp_labels": {"severity": "critical"}}]
    broken = tmp_path / "rules_test.yml"
    broken.write_text(yaml.safe_dump(document))
    done = promtool("test", "rules", str(broken))
    assert done.returncode != 0
    assert "FAILED" in done.stdout + done.stderr


def test_the_config_scrapes_the_daemon_and_loads_the_rules() -> None:
    config = load(CONFIG)
    assert config["rule_files"] == ["rules.yml"]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "paperfund"]
    assert job["metrics_path"] == "/metrics"
    assert job["scrape_interval"] == "15s"
    (static,) = job["static_configs"]
    assert static["targets"], "an example target"


def test_the_rules_are_the_expected_alerts_each_documented() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert sorted(names) == sorted(ALERTS)
    for rule in rules:
        name = rule["alert"]
        assert rule.get("for"), f"{name}: no `for`"
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        for key in ("summary", "description", "runbook"):
            assert annotations.get(key, "").strip(), f"{name}: no {key} annotation"
        assert "paperfund_" in rule["expr"] or name == "PaperfundDown", name


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in load(RULES_TEST)["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert firing == ALERTS, f"never checked firing: {sorted(ALERTS - firing)}"
    assert quiet == ALERTS, f"never checked not firing: {sorted(ALERTS - quiet)}"


def test_every_alert_is_tested_on_the_metrics_it_reads() -> None:
    """Each firing check feeds every metric its rule's expression reads, by its real name."""
    reads = {rule["alert"]: metric_names(rule["expr"]) for rule in alert_rules()}
    for case in load(RULES_TEST)["tests"]:
        fed = {entry["series"].split("{")[0] for entry in case["input_series"]}
        for check in case.get("alert_rule_test", []):
            if check.get("exp_alerts"):
                missing = reads[check["alertname"]] - fed
                assert not missing, f"{case['name']}: {check['alertname']} reads {missing}"


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression (ours all start with paperfund_; and `up`)."""
    return set(METRIC_NAME.findall(expr))
