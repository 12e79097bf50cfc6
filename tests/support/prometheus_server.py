"""A throwaway Prometheus server (Debian's `prometheus` package) on a free local port.

`PrometheusServer` starts the real binary on a given configuration and a scratch TSDB
directory, waits until `/-/ready` answers, answers PromQL queries through the HTTP API, and
stops it (SIGTERM, then SIGKILL after a deadline). Its log goes to a file next to the TSDB,
quoted when it fails to start.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support.redis_server import free_port

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05
REQUEST_TIMEOUT_S = 10.0


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def promtool_binary() -> str | None:
    return shutil.which("promtool")


class PrometheusServer:
    """One `prometheus` process serving `config` on 127.0.0.1:`port` (a free one unless
    given), its TSDB and log under `data_dir`."""

    def __init__(self, binary: str, config: Path, data_dir: Path, port: int | None = None) -> None:
        self.binary = binary
        self.config = config
        self.data_dir = data_dir
        self.port = free_port() if port is None else port
        self.log_path = data_dir / "prometheus.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        tsdb = self.data_dir / "tsdb"
        tsdb.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            f"--config.file={self.config}",
            f"--storage.tsdb.path={tsdb}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_ready(self) -> None:
        """Poll /-/ready until it answers 200 (bounded), failing early if the server exited."""
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                raise RuntimeError(f"prometheus exited with {code}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prometheus not ready on port {self.port}:\n{self.log()}")
            time.sleep(POLL_INTERVAL_S)

    def api(self, path: str, **params: str) -> dict[str, Any]:
        """GET /api/v1/`path`: the decoded answer, errors included (`status` says which)."""
        query = urllib.parse.urlencode(params)
        url = f"{self.url}/api/v1/{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # a bad query: 400 or 422 with an error body
            with exc:
                answer = json.loads(exc.read())
        assert isinstance(answer, dict), answer
        return answer

    def query(self, expr: str) -> dict[str, Any]:
        """An instant query, evaluated now."""
        return self.api("query", query=expr)

    def stop(self) -> None:
        """Terminate the server (it flushes its head block) and reap it; kill it if it
        does not exit in time."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
