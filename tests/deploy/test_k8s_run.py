"""`paperfund run` with the settings and the Secret the manifests ship, against a real Redis:
healthy, ready, guarded by its token and signing key, exporting the metrics the alerts use,
and stopping on SIGTERM within its grace."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from config import load_settings
from daemon.control.service import sign
from tests.deploy.k8s_manifests import (
    BASE,
    K8S,
    MONITORED,
    pod_environment,
    render,
    rule_metric_names,
    secret_values,
    the,
    tool,
)
from tests.support.daemon_process import Daemon
from tests.support.redis_server import RedisServer

# ---------------------------------------------------------------- the shipped fund, for real

SLICES_TIMEOUT_S = 60.0


def http(
    port: int,
    path: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request to the daemon on loopback: its status and body."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def exposed_names(body: bytes) -> set[str]:
    """Sample names the exposition can carry, from its TYPE lines."""
    names = set()
    for kind_line in re.findall(r"^# TYPE (\S+) (\S+)$", body.decode(), re.MULTILINE):
        name, kind = kind_line
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def metric(body: bytes, name: str) -> float | None:
    found = re.search(rf"^{name} (\S+)$", body.decode(), re.MULTILINE)
    return None if found is None else float(found.group(1))


@pytest.fixture
def redis_port() -> Iterator[int]:
    """A local redis-server that wants the Secret's Redis password."""
    password = secret_values(the(render(BASE), "Secret", "paperfund-secrets"))["redis-password"]
    with RedisServer(tool("redis-server", "the Debian package redis-server")) as server:
        client = redis.Redis(host="127.0.0.1", port=server.port)
        try:
            client.config_set("requirepass", password)
        finally:
            client.close()
        yield server.port


def publish_bars(port: int, password: str, stream: str, symbols: list[str], count: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port, password=password)
    try:
        start = int(time.time()) // 60 * 60 - 60 * count
        for minute in range(count):
            ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 60 * minute))
            for i, symbol in enumerate(symbols):
                price = 100 + i + minute
                bar: dict[Any, Any] = {"symbol": symbol, "ts": ts}
                bar |= {"open": price, "high": price + 1, "low": price - 1}
                bar |= {"close": price + 0.5, "volume": 1000}
                client.xadd(stream, bar)
    finally:
        client.close()


def test_the_shipped_fund_runs(tmp_path: Path, redis_port: int) -> None:
    """`paperfund run` with the ConfigMap's settings and the Secret's values (the Redis host
    pointed at a local server, the API on loopback): it trades the bars it is sent, answers
    the probes, guards /v1 with the token and the signing key, exposes every metric the alert
    rules use, and exits 0 on SIGTERM within its shutdown grace."""
    rendered = render(K8S / "overlays" / "local")
    values = secret_values(the(rendered, "Secret", "paperfund-secrets"))
    url = urllib.parse.urlsplit(values["redis-url"])
    local = url._replace(netloc=f":{url.password}@127.0.0.1:{redis_port}").geturl()
    path, env = pod_environment(rendered, tmp_path, {values["redis-url"]: local})
    settings = load_settings(path, env)
    env |= {
        "PAPERFUND_CONTROL__HTTP__HOST": "127.0.0.1",  # the test's daemon stays on loopback
        "PAPERFUND_CONTROL__HTTP__PORT": "0",
        "PAPERFUND_STATE__DIR": str(tmp_path / "state"),
    }
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFUND_")}
    daemon = Daemon(environ | env, "--config", str(path))
    try:
        daemon.wait_ready()
        port = int(daemon.event("http api listening")["port"])
        assert settings.feed.kind == "redis"
        symbols = list(settings.feed.symbols or [])
        publish_bars(redis_port, values["redis-password"], settings.feed.stream, symbols, 3)
        deadline = time.monotonic() + SLICES_TIMEOUT_S
        while True:
            status, body = http(port, "/metrics")
            assert status == 200
            if (metric(body, "paperfund_slices_processed_total") or 0) >= 3:
                break
            assert time.monotonic() < deadline, "the fund did not step the bars it was sent"
            time.sleep(0.1)
        assert metric(body, "paperfund_redis_connected") == 1
        missing = rule_metric_names(render(MONITORED)) - exposed_names(body) - {"up"}
        assert missing == set(), "alert rules use metrics the daemon does not expose"

        assert http(port, "/healthz")[0] == 200
        status, body = http(port, "/readyz")
        assert status == 200, body
        token = values["http-token"]
        assert http(port, "/v1/status")[0] == 401
        assert http(port, "/v1/status", token="wrong")[0] == 401
        assert http(port, "/v1/status", token=token)[0] == 200
        command = json.dumps({"type": "status", "command_id": "k8s-1"}).encode()
        signature = sign(values["signing-key"].encode(), command)
        json_type = {"Content-Type": "application/json"}
        status, body = http(port, "/v1/commands", token=token, body=command, headers=json_type)
        assert status == 403 and b"signature" in body  # unsigned
        signed = {**json_type, "X-Paperfund-Signature": signature}
        status, body = http(port, "/v1/commands", token=token, body=command, headers=signed)
        assert status == 200, body

        started = time.monotonic()
        code = daemon.stop(signal.SIGTERM, timeout_s=settings.deadlines.shutdown_grace_s + 20)
        took = time.monotonic() - started
    finally:
        daemon.stop(signal.SIGKILL)
    assert code == 0, "".join(daemon.lines)
    assert took < settings.deadlines.shutdown_grace_s
