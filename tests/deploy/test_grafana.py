"""The Grafana dashboard and provisioning in deploy/grafana.

Statically: the dashboard JSON is well formed (ids, grid positions, a datasource and PromQL
targets on every panel, its variables) and the provisioning files point at it and at a
Prometheus data source. Live: a real Prometheus, configured from deploy/prometheus, scrapes a
real daemon (endless synthetic feed, a bar every 50 ms, Redis command channel) that has
received applied and rejected commands and rebalanced; every panel's query, with the
dashboard's variables substituted, must return data through Prometheus' HTTP API, and the
alerting rules must load and evaluate without errors.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.control_daemon import control_env, http_of, started_redis
from tests.support.daemon_process import ROOT, Daemon
from tests.support.prometheus_server import PrometheusServer, prometheus_binary

GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "paperfund.json"
DASHBOARD_PROVIDER = GRAFANA_DIR / "provisioning" / "dashboards" / "paperfund.yml"
DATASOURCES = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"

PANEL_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_COLUMNS = 24
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
LABEL_VALUES = re.compile(r"^label_values\((?P<match>.+),\s*(?P<label>\w+)\)$")

BAR_S = 0.05
SCRAPE_S = 1
RATE_INTERVAL = "10s"
"""What Grafana's $__rate_interval would be at this scrape interval, with some slack."""
DATA_TIMEOUT_S = 40.0
POLL_S = 0.25


def dashboard() -> dict[str, Any]:
    document = json.loads(DASHBOARD.read_text())
    assert isinstance(document, dict)
    return document


def panels() -> list[dict[str, Any]]:
    return list(dashboard()["panels"])


def variables() -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard()["templating"]["list"]}


def queries() -> list[tuple[str, str]]:
    """(panel title and refId, expression) of every target of every panel."""
    return [
        (f"{panel['title']} [{target['refId']}]", target["expr"])
        for panel in panels()
        for target in panel["targets"]
    ]


def substitute(expr: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"unknown variable ${name} in {expr}"
        return values[name]

    return VARIABLE.sub(value, expr)


# ---------------------------------------------------------------- the dashboard's shape
def test_the_dashboard_identifies_itself() -> None:
    document = dashboard()
    assert document["uid"] == "paperfund"
    assert document["title"]
    assert document["schemaVersion"] >= 39
    assert document["time"]["from"].startswith("now-")


def test_panel_ids_are_unique_and_every_panel_has_a_place() -> None:
    ids = [panel["id"] for panel in panels()]
    assert len(ids) == len(set(ids)), ids
    cells: set[tuple[int, int]] = set()
    for panel in panels():
        grid = panel["gridPos"]
        x, y, w, h = (grid[key] for key in ("x", "y", "w", "h"))
        assert all(isinstance(n, int) for n in (x, y, w, h)), panel["title"]
        assert w > 0 and h > 0 and x >= 0 and y >= 0, panel["title"]
        assert x + w <= GRID_COLUMNS, panel["title"]
        area = {(col, row) for col in range(x, x + w) for row in range(y, y + h)}
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area


def test_every_panel_queries_prometheus_through_the_datasource_variable() -> None:
    assert variables()["datasource"]["type"] == "datasource"
    assert variables()["datasource"]["query"] == "prometheus"
    for panel in panels():
        title = panel["title"]
        assert panel["datasource"] == PANEL_DATASOURCE, title
        assert panel["targets"], f"{title}: no targets"
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), title
        for target in panel["targets"]:
            assert target["datasource"] == PANEL_DATASOURCE, title
            assert target["expr"].strip(), f"{title}: empty expression"


def test_every_query_is_filtered_by_job_and_instance() -> None:
    """A selector without the variables would mix every fund on the Prometheus server."""
    for where, expr in queries():
        for selector in re.findall(r"\b(?:paperfund_\w+|up)\s*(\{[^}]*\})?", expr):
            assert 'job="$job"' in selector, f"{where}: {expr}"
            assert 'instance=~"$instance"' in selector, f"{where}: {expr}"


def test_the_variables_select_job_and_instances() -> None:
    job, instance = variables()["job"], variables()["instance"]
    for variable in (job, instance):
        assert variable["type"] == "query"
        assert variable["datasource"] == PANEL_DATASOURCE
        assert LABEL_VALUES.match(variable["query"]), variable["query"]
    assert instance["multi"] and instance["includeAll"]
    assert instance["allValue"] == ".*"
    assert "$job" in instance["query"]


def test_the_dashboard_covers_the_fund() -> None:
    """The panels the operators asked for, by the metrics they chart."""
    charted = " ".join(expr for _, expr in queries())
    for metric in (
        "paperfund_fund_value",
        "paperfund_fund_return_ratio",
        "paperfund_strategy_target_weight_ratio",
        "paperfund_strategy_weight_ratio",
        "paperfund_strategy_value",
        "paperfund_strategy_drawdown_ratio",
        "paperfund_strategy_sharpe_ratio",
        "paperfund_strategy_state",
        "paperfund_slice_duration_seconds_bucket",
        "paperfund_step_duration_seconds_bucket",
        "paperfund_feed_lag_seconds",
        "paperfund_feed_bars_rejected_total",
        "paperfund_commands_total",
        "paperfund_rebalances_total",
        "paperfund_last_snapshot_timestamp_seconds",
    ):
        assert metric in charted, metric
    assert "histogram_quantile(" in charted
    assert "sum by (type, outcome) (rate(paperfund_commands_total" in charted
    assert "sum by (reason) (rate(paperfund_feed_bars_rejected_total" in charted


# ---------------------------------------------------------------- provisioning
def test_the_dashboard_provider_loads_the_dashboards_directory() -> None:
    document = yaml.safe_load(DASHBOARD_PROVIDER.read_text())
    assert document["apiVersion"] == 1
    (provider,) = document["providers"]
    assert provider["type"] == "file"
    path = provider["options"]["path"]
    # the mount the file documents puts deploy/grafana/dashboards at that path
    mount = f"./deploy/grafana/dashboards:{path}"
    assert mount in DASHBOARD_PROVIDER.read_text(), f"document the mount {mount}"
    assert (ROOT / "deploy" / "grafana" / "dashboards" / DASHBOARD.name).is_file()
    assert "/etc/grafana/provisioning" in DASHBOARD_PROVIDER.read_text()


def test_the_datasource_is_the_default_prometheus_at_the_scrape_interval() -> None:
    document = yaml.safe_load(DATASOURCES.read_text())
    assert document["apiVersion"] == 1
    (source,) = document["datasources"]
    assert source["type"] == variables()["datasource"]["query"] == "prometheus"
    assert source["access"] == "proxy"
    assert source["url"].startswith(("http://", "https://"))
    assert source["isDefault"] is True
    # $__rate_interval is derived from it: it must be the interval paperfund is scraped at
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "paperfund"]
    assert source["jsonData"]["timeInterval"] == job["scrape_interval"]


# ---------------------------------------------------------------- live: Prometheus + daemon
@dataclass
class Stack:
    daemon: Daemon
    prometheus: PrometheusServer
    job: str
    instance: str
    replies: dict[str, dict[str, Any]]

    def values(self, instance: str | None = None) -> dict[str, str]:
        chosen = self.instance if instance is None else instance
        return {"job": self.job, "instance": chosen, "__rate_interval": RATE_INTERVAL}


def scrape_config(target: str, tmp: Path) -> Path:
    """deploy/prometheus/prometheus.yml, scraping `target` every second, with its rules."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(scrape_interval=f"{SCRAPE_S}s", evaluation_interval=f"{SCRAPE_S}s")
    config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config["rule_files"]]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "paperfund"]
    job.update(scrape_interval=f"{SCRAPE_S}s", scrape_timeout=f"{SCRAPE_S}s")
    for static in job["static_configs"]:
        static["targets"] = [target]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


COMMANDS: dict[str, dict[str, Any]] = {
    "pause": {"type": "pause", "command_id": "d-pause", "strategy_id": "trend"},
    "rebalance": {"type": "rebalance", "command_id": "d-rebalance", "weights": {"momentum": 0.2}},
    "bad-rebalance": {"type": "rebalance", "command_id": "d-bad", "weights": {"nope": 0.1}},
    "status": {"type": "status", "command_id": "d-status"},
    "snapshot": {"type": "snapshot", "command_id": "d-snapshot"},
}
"""Applied commands of four types (the snapshot one makes the snapshot time metric exist at
once), a rebalance rejected for an unknown strategy (type rebalance) and, sent apart, a
malformed one (type unknown)."""


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    yield from started_redis()


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = prometheus_binary()
    if binary is None:
        pytest.fail("prometheus not found: install the Debian package prometheus")
    tmp = tmp_path_factory.mktemp("grafana")
    daemon = Daemon(control_env(tmp / "state", redis_url, bar_s=BAR_S)).wait_ready()
    try:
        http = http_of(daemon)
        replies = {name: http.send(command) for name, command in COMMANDS.items()}
        replies["malformed"] = http.send_raw(b'{"type": "rebalance"')
        target = http.base.removeprefix("http://")
        with PrometheusServer(binary, scrape_config(target, tmp), tmp / "prometheus") as server:
            yield Stack(daemon, server, "paperfund", target, replies)
    finally:
        assert daemon.stop() == 0, "".join(daemon.lines[-20:])


def poll(condition: Callable[[], str | None], timeout_s: float = DATA_TIMEOUT_S) -> None:
    """Call `condition` until it returns None (done); at the deadline fail with what it last
    returned (what is still missing)."""
    deadline = time.monotonic() + timeout_s
    while (missing := condition()) is not None:
        if time.monotonic() > deadline:
            pytest.fail(f"after {timeout_s:g} s: {missing}")
        time.sleep(POLL_S)


def problem(answer: dict[str, Any]) -> str | None:
    """Why a query's answer is no use on a panel: an error, no series, or a NaN or infinite
    sample; None when it is fine."""
    if answer["status"] != "success":
        return f"{answer.get('errorType')}: {answer.get('error')}"
    data = answer["data"]
    result = data["result"]
    if data["resultType"] == "scalar":
        result = [{"metric": {}, "value": result}]
    if not result:
        return "no data"
    for series in result:
        value = float(series["value"][1])
        if not math.isfinite(value):
            return f"{value} for {series['metric']}"
    return None


def test_the_daemon_took_the_commands(stack: Stack) -> None:
    status = {name: reply["status"] for name, reply in stack.replies.items()}
    assert status == {
        "pause": "applied",
        "rebalance": "applied",
        "bad-rebalance": "rejected",
        "status": "applied",
        "snapshot": "applied",
        "malformed": "rejected",
    }, stack.replies


def test_prometheus_scrapes_the_daemon_and_its_rebalances(stack: Stack) -> None:
    def missing() -> str | None:
        checks = {
            "target up": f'up{{job="{stack.job}"}} == 1',
            "redis connected": "paperfund_redis_connected == 1",
            "a calendar rebalance": 'paperfund_rebalances_total{trigger="calendar"} > 0',
            "the rejected rebalance": (
                'paperfund_commands_total{type="rebalance", outcome="rejected"} == 1'
            ),
        }
        for what, expr in checks.items():
            if problem(stack.prometheus.query(expr)) is not None:
                return f"no {what} ({expr}); targets: {stack.prometheus.api('targets')}"
        return None

    poll(missing)


@pytest.mark.parametrize("all_instances", [False, True], ids=["instance", "all"])
def test_every_panel_query_returns_data(stack: Stack, all_instances: bool) -> None:
    values = stack.values(".*" if all_instances else None)

    def failing() -> str | None:
        problems = {}
        for where, expr in queries():
            answer = stack.prometheus.query(substitute(expr, values))
            assert answer["status"] == "success", f"{where}: {expr}\n{answer}"  # never resolves
            found = problem(answer)
            if found is not None:
                problems[where] = found
        return None if not problems else json.dumps(problems, indent=2)

    poll(failing)


def test_the_variables_find_the_job_and_the_instance(stack: Stack) -> None:
    expected = {"job": stack.job, "instance": stack.instance}
    for name, value in expected.items():
        match = LABEL_VALUES.match(variables()[name]["query"])
        assert match is not None
        selector = substitute(match["match"], stack.values())
        answer = stack.prometheus.api(f"label/{match['label']}/values", **{"match[]": selector})
        assert answer["status"] == "success", answer
        assert value in answer["data"], (name, answer)


def test_every_metric_the_rules_and_the_dashboard_read_is_exported(stack: Stack) -> None:
    """A typo in a metric name is an alert that never fires: compare with what is stored."""
    rules = (PROMETHEUS_DIR / "rules.yml").read_text()
    used = set(re.findall(r"\bpaperfund_[a-z_]+", rules + " ".join(e for _, e in queries())))
    answer = stack.prometheus.api("label/__name__/values")
    assert answer["status"] == "success", answer
    assert used - set(answer["data"]) == set()


def test_the_alerting_rules_evaluate_on_the_live_metrics(stack: Stack) -> None:
    def unevaluated() -> str | None:
        groups = stack.prometheus.api("rules")["data"]["groups"]
        (group,) = groups
        if group["lastEvaluation"].startswith("0001-"):
            return "the rules were not evaluated yet"
        bad = [rule for rule in group["rules"] if rule["health"] != "ok"]
        return None if not bad else json.dumps(bad, indent=2)

    poll(unevaluated)

    def alerts() -> dict[str, str]:
        found = stack.prometheus.api("alerts")["data"]["alerts"]
        return {alert["labels"]["alertname"]: alert["state"] for alert in found}

    # the first rejection of a rebalance (a new series at 1) is caught at once
    poll(lambda: None if "PaperfundRebalanceFailures" in alerts() else f"alerts: {alerts()}")
    active = alerts()
    # an operator pause is no quarantine; the synthetic feed's old bars advance, so not stale
    for quiet in (
        "PaperfundStrategyQuarantined",
        "PaperfundFeedStale",
        "PaperfundNotReady",
        "PaperfundRedisDisconnected",
        "PaperfundCommandRejectionsSpiking",
    ):
        assert quiet not in active, active


def test_the_state_panel_shows_the_paused_strategy(stack: Stack) -> None:
    """The state panel encodes each strategy's one-hot state as a code its mappings name."""
    (panel,) = [panel for panel in panels() if panel["type"] == "state-timeline"]
    (mapping,) = panel["fieldConfig"]["defaults"]["mappings"]
    names = {float(code): option["text"] for code, option in mapping["options"].items()}
    expr = substitute(panel["targets"][0]["expr"], stack.values())
    expected = {"trend": "paused", "momentum": "running", "mean_reversion": "running"}
    shown: dict[str, str] = {}

    def differs() -> str | None:
        result = stack.prometheus.query(expr)["data"]["result"]
        shown.clear()
        for series in result:
            code = float(series["value"][1])
            shown[series["metric"]["strategy"]] = names.get(code, f"unmapped {code}")
        return None if shown == expected else f"shown {shown}"

    poll(differs)
