"""The Prometheus Operator objects: the ServiceMonitor scrapes the daemon, and the
PrometheusRule holds the same alerts as deploy/prometheus/rules.yml, passing promtool."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.k8s_manifests import (
    DAEMON,
    K8S,
    MONITORED,
    ROOT,
    alert_rules,
    fund_data,
    objects,
    prometheus_rule,
    render,
    rule_metric_names,
    the,
    tool,
)

# ---------------------------------------------------------------- monitoring

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "rules.yml"
"""The alerting rules for a plain Prometheus: the PrometheusRule carries the same groups."""
RULES_TEST = PROMETHEUS_DIR / "rules_test.yml"
REGENERATE = (
    "regenerate the PrometheusRule from deploy/prometheus/rules.yml with the command in "
    "deploy/k8s/components/monitoring/prometheusrule.yaml"
)
WATCHED = {
    "up": "the daemon is down",
    "paperfund_last_slice_processed_timestamp_seconds": "the feed is stale",
    "paperfund_strategy_quarantined": "a strategy is quarantined",
    "paperfund_strategy_drawdown_ratio": "a strategy's drawdown",
    "paperfund_commands_total": "rebalance and command rejections",
    "paperfund_redis_connected": "Redis is disconnected",
    "paperfund_snapshot_age_records": "the newest snapshot is old",
}


def test_the_service_monitor_scrapes_the_daemon() -> None:
    rendered = render(MONITORED)
    [monitor] = objects(rendered, "ServiceMonitor")
    service = the(rendered, "Service", DAEMON)
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    for other in objects(rendered, "Service"):
        if other is not service:
            assert not selector.items() <= other["metadata"]["labels"].items()
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    # the rules select job="paperfund": the operator names the job after the Service
    assert "jobLabel" not in monitor["spec"]
    assert service["metadata"]["name"] == "paperfund"
    ups = [rule["expr"] for rule in alert_rules(rendered) if re.search(r"\bup\b", rule["expr"])]
    assert ups and all('up{job="paperfund"}' in expr for expr in ups)
    # the target label `fund`, as deploy/prometheus/prometheus.yml sets it
    [relabel] = endpoint["relabelings"]
    assert relabel == {
        "action": "replace",
        "targetLabel": "fund",
        "replacement": fund_data(rendered)["fund"]["name"],
    }


def spaced(value: Any) -> Any:
    """`value` with the whitespace in its strings collapsed: kustomize re-folds folded block
    scalars with more-indented lines (one more blank line in a PromQL expression)."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return {k: spaced(v) for k, v in value.items()}
    if isinstance(value, list):
        return [spaced(v) for v in value]
    return value


def test_the_rules_are_those_for_a_plain_prometheus() -> None:
    """One set of alerts, whichever way Prometheus is deployed."""
    rendered = render(MONITORED)
    plain = yaml.safe_load(RULES.read_text())["groups"]
    source = yaml.safe_load((K8S / "components/monitoring/prometheusrule.yaml").read_text())
    assert source["spec"]["groups"] == plain, REGENERATE
    assert spaced(prometheus_rule(rendered)["spec"]["groups"]) == spaced(plain)
    assert set(WATCHED) <= rule_metric_names(rendered)
    for rule in alert_rules(rendered):
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]
    # the snapshot alert stays quiet while snapshots come as often as the fund's settings say
    [stale] = [r for r in alert_rules(rendered) if "paperfund_snapshot_age_records" in r["expr"]]
    threshold = float(re.findall(r">\s*([0-9.]+)", stale["expr"])[0])
    assert threshold >= 5 * fund_data(rendered)["state"]["snapshot_every"]


def promtool(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [tool("promtool", "the Debian package prometheus"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rendered_rules_pass_promtool(tmp_path: Path) -> None:
    """The rules as the operator gets them parse, and pass the unit tests of the plain ones
    (which check every alert firing and not firing)."""
    spec = prometheus_rule(render(MONITORED))["spec"]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    promtool("check", "rules", "rules.yml", cwd=tmp_path)
    tests = yaml.safe_load(RULES_TEST.read_text())
    assert tests["rule_files"] == ["rules.yml"]
    (tmp_path / "rules_test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
