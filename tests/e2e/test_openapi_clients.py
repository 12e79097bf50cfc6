"""An off-the-shelf OpenAPI client, schemathesis, against a real daemon: it reads the served
`/openapi.json`, sends what the document allows (and what it does not), and checks every
answer against the document. Once with the default configuration (no token, no signing
key) and once with both: the document must describe the daemon as it runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.daemon_process import Daemon, env_for

TOKEN = "schemathesis-t0ken"
KEY = "schemathesis-signing-key"
MAX_TIME_S = 20
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def document_of(base: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{base}/openapi.json", timeout=10) as response:
        served: dict[str, object] = json.loads(response.read())
    return served


@pytest.mark.parametrize("secured", [False, True], ids=["default", "token-and-key"])
def test_schemathesis_finds_no_failure(tmp_path: Path, secured: bool) -> None:
    extra = {"PAPERFUND_FEED__BARS": "null", "PAPERFUND_FEED__SPEED": str(86400 / 0.2)}
    if secured:
        extra |= {"PAPERFUND_CONTROL__HTTP__TOKEN": TOKEN, "PAPERFUND_CONTROL__SIGNING_KEY": KEY}
    daemon = Daemon(env_for(tmp_path / "state", **extra)).wait_ready()
    try:
        base = f"http://127.0.0.1:{daemon.event('http api listening')['port']}"
        document = document_of(base)
        assert ("securitySchemes" in json.dumps(document)) == secured
        assert ("X-Paperfund-Signature" in json.dumps(document["paths"])) == secured
        command = [str(SCHEMATHESIS), "run", f"{base}/openapi.json", "--checks", "all"]
        command += ["--max-examples", "10", "--max-time", str(MAX_TIME_S), "--seed", "7"]
        command += ["--generation-database", "none", "--no-color", "--workers", "1"]
        if secured:
            command += ["--header", f"Authorization: Bearer {TOKEN}"]
        done = subprocess.run(
            command,
            cwd=tmp_path,  # its reports and caches stay out of the repository
            capture_output=True,
            text=True,
            timeout=MAX_TIME_S + 60,
            check=False,
        )
    finally:
        assert daemon.stop() == 0, "".join(daemon.lines[-20:])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    # every generated case passed every check (unsigned commands to a signing daemon are
    # refused with the documented 403: schemathesis cannot sign them)
    assert re.search(r"(\d+) generated, \1 passed", done.stdout), done.stdout[-3000:]
