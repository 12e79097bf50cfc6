"""The README's way from the quick start to the control plane, run as written: terminal 1's
paced demo (a real `paperfund run` through bash, in a fresh directory), then every command of
terminal 2 and of the `paperfund ctl` section, each through bash, against it over real HTTP
on loopback; then the command documents the README shows, posted in its order; then Ctrl-C.

What differs from a person's terminal, and why: the demo's HTTP port is a free one
(`PAPERFUND_CONTROL__HTTP__PORT` for the daemon and `ctl`, and `8377` rewritten in the
`curl` URLs) so that tests can run side by side; `.venv` in the directory is a link to this
interpreter's virtualenv; `paperfund` is on the PATH, as after `. .venv/bin/activate`.
The Redis examples need a Redis channel the demo does not configure and are not run here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon_process import ROOT
from tests.support.redis_server import free_port
from tests.support.terminal import read_until_closed, screen_lines

README = ROOT / "README.md"
DEFAULT_PORT = "8377"


def section(text: str, heading: str) -> str:
    """The README text from `heading` to the next heading of its level or above."""
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}\n")
    rest = text[start + len(heading) + 2 :]
    above = re.compile(rf"^#{{1,{len(level)}}} ", re.MULTILINE)
    ends = [m.start() for m in above.finditer(rest)]
    return rest[: ends[0]] if ends else rest


def blocks(text: str, language: str) -> list[list[str]]:
    """The lines of each ```language block of `text`."""
    found = re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return [[line for line in block.splitlines() if line.strip()] for block in found]


def readme_recipe() -> tuple[str, list[str], list[str], list[dict[str, Any]]]:
    text = README.read_text(encoding="utf-8")
    terminal_1, terminal_2 = blocks(section(text, "### Control it from a second terminal"), "bash")
    (ctl,) = blocks(section(text, "#### `paperfund ctl`"), "bash")
    documents = blocks(section(text, "## Controlling a running fund"), "json")[0]
    assert len(terminal_1) == 1
    return terminal_1[0], terminal_2, ctl, [json.loads(line) for line in documents]


class Terminal1:
    """Terminal 1's command in its own session (Ctrl-C goes to its process group), its
    output drained by threads."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.err: list[str] = []
        self.out: list[str] = []
        self.ready = threading.Event()
        self.threads = [
            threading.Thread(target=self._drain, args=(self.proc.stderr, self.err), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stdout, self.out), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _drain(self, pipe: Any, into: list[str]) -> None:
        for line in pipe:
            into.append(line)
            if "ready at slice" in line:
                self.ready.set()
        self.ready.set()

    def ctrl_c(self, timeout_s: float = 60) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout_s)
        for thread in self.threads:
            thread.join(timeout_s)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return code


def run_line(
    line: str, cwd: Path, env: dict[str, str], port: int
) -> subprocess.CompletedProcess[str]:
    command = line.replace(f"127.0.0.1:{DEFAULT_PORT}", f"127.0.0.1:{port}")
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def curl_answer(line: str, result: subprocess.CompletedProcess[str]) -> None:
    body = json.loads(result.stdout)  # an answer of the API, not an error page
    if " POST " in f" {line} ".replace("-X POST", " POST "):
        assert body["reply"]["status"] == "applied", body
    else:
        assert "error" not in body, body


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """A fresh directory with `.venv` pointing at this interpreter's virtualenv."""
    venv = Path(sys.prefix)
    assert (venv / "bin" / "paperfund").exists(), f"paperfund is not installed in {venv}"
    (tmp_path / ".venv").symlink_to(venv)
    return tmp_path


def environment(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFUND_")}
    env["PATH"] = f"{Path(sys.prefix) / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PAPERFUND_CONTROL__HTTP__PORT"] = str(port)
    return env


def test_every_readme_control_command_succeeds_on_the_paced_demo(directory: Path) -> None:
    terminal_1, terminal_2, ctl, documents = readme_recipe()
    assert "PAPERFUND_FEED__SPEED=" in terminal_1
    port = free_port()
    env = environment(port)
    fund = Terminal1(terminal_1, directory, env)
    try:
        assert fund.ready.wait(60) and fund.proc.poll() is None, "".join(fund.err)
        for line in terminal_2 + ctl:
            result = run_line(line, directory, env, port)
            assert result.returncode == 0, (line, result.stdout, result.stderr)
            if line.startswith("curl "):
                curl_answer(line, result)
            else:
                assert result.stdout.strip(), line
                assert "rejected" not in result.stdout, (line, result.stdout)
        for document in documents:
            posted = run_line(
                f"curl -s -X POST http://127.0.0.1:{DEFAULT_PORT}/v1/commands "
                f"-H 'Content-Type: application/json' -d '{json.dumps(document)}'",
                directory,
                env,
                port,
            )
            assert json.loads(posted.stdout)["reply"]["status"] == "applied", (document, posted)
        assert fund.proc.poll() is None, "the paced demo is still running"
    finally:
        code = fund.ctrl_c()
    assert code == 0, "".join(fund.err)
    assert any(line.startswith("state digest: ") for line in fund.out)
    assert (directory / "state" / "paced" / "state.sqlite3").is_file()
    assert not any("Ctrl-C stops it" in line for line in fund.err)  # not a terminal: no greeting
    assert not any("Traceback" in line for line in fund.err), "".join(fund.err)
    text = section(README.read_text(encoding="utf-8"), "### Control it from a second terminal")
    (report,) = re.findall(r"`(\.venv/bin/paperfund report [^`]+)`", text)
    reported = run_line(report, directory, env, port)
    assert reported.returncode == 0, reported.stderr
    assert (directory / "state" / "paced" / "report.html").is_file()


def test_on_a_terminal_the_daemon_says_once_where_it_listens_and_how_to_stop(
    directory: Path,
) -> None:
    terminal_1, *_ = readme_recipe()
    env = environment(0)  # any free port: the greeting names the bound one
    parent, child = os.openpty()
    proc = subprocess.Popen(
        ["bash", "-c", terminal_1],
        cwd=directory,
        env=env,
        stdin=child,
        stdout=child,
        stderr=child,
        start_new_session=True,
    )
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while b"Ctrl-C stops it" not in seen and time.monotonic() < deadline:
            seen += os.read(parent, 4096)  # blocks until the daemon writes
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        seen += read_until_closed(parent)
        os.close(parent)
        code = proc.wait(60)
    text = seen.decode()
    lines = screen_lines(text)
    assert code == 0, text
    match = re.search(r"HTTP API: http://127\.0\.0\.1:(\d+)  \(try: curl ", text)
    assert match and match.group(1) != "0", text
    url = f"http://127.0.0.1:{match.group(1)}"
    assert f"  from another terminal: paperfund ctl --http {url} status" in lines
    assert lines.count("paperfund: fund demo is running.") == 1
    assert sum("Ctrl-C stops it" in line for line in lines) == 1
    assert "state digest: " in text  # stopped by Ctrl-C, with its summary
