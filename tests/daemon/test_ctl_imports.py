"""`paperfund ctl` starts without the fund's numerics: none of pandas, numpy, scipy or
matplotlib is imported on its whole path (argument parsing, the settings, either transport,
a command sent and its failure reported), checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.daemon_process import ROOT
from tests.support.redis_server import free_port

HEAVY = ("pandas", "numpy", "scipy", "matplotlib")

PROBE = """
import json, sys
from daemon.cli import main
codes = [main(["ctl", *args]) for args in json.loads(sys.argv[1])]
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"codes": codes, "heavy": heavy}))
"""


def test_ctl_imports_no_numerics() -> None:
    port = free_port()  # nobody listens there: each command ends with "no answer"
    runs = [
        ["--timeout", "2", "status"],
        ["--http", f"http://127.0.0.1:{port}", "--timeout", "2", "pause", "trend"],
        ["--redis", f"redis://127.0.0.1:{port}/0", "--timeout", "2", "snapshot"],
        ["rebalance", "--weights", "trend=x"],
    ]
    env = {"PATH": "/usr/bin:/bin", "PAPERFUND_CONTROL__HTTP__PORT": str(port)}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(runs), json.dumps(HEAVY)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.splitlines()[-1])
    assert result["codes"] == [3, 3, 3, 2], probe.stderr
    assert result["heavy"] == []
