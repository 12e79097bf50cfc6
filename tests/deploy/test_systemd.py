"""The systemd unit passes `systemd-analyze verify` (with no complaint at all) and keeps the
properties the daemon relies on."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from config.models import DeadlineSettings

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy/systemd/paperfund.service"
INSTALLED = "/opt/paperfund/bin/paperfund"
PAPERFUND = ROOT / ".venv/bin/paperfund"


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    assert tool is not None, "tests/run.sh installs systemd"
    return subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


def with_local_binary(tmp_path: Path, text: str) -> Path:
    """The unit as installed, its ExecStart pointing at this checkout's paperfund (verify
    checks that the command exists and is executable)."""
    assert PAPERFUND.exists(), "tests/run.sh installs paperfund into .venv"
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace(INSTALLED, str(PAPERFUND)))
    return unit


def test_the_unit_verifies_without_a_complaint(tmp_path: Path) -> None:
    text = UNIT.read_text()
    assert INSTALLED in text
    result = verify(with_local_binary(tmp_path, text))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == result.stderr.strip() == ""


def test_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("KillMode=mixed", "KillMode=mixd")
    result = verify(with_local_binary(tmp_path, broken))
    assert "kill mode" in result.stderr  # a warning, reported: the test above would fail


@pytest.fixture(scope="module")
def service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def seconds(value: str) -> float:
    units = {"min": 60.0, "s": 1.0, "ms": 0.001}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value.removesuffix(suffix)) * factor
    return float(value)


def test_the_daemon_contract(service: configparser.SectionProxy) -> None:
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert seconds(service["WatchdogSec"]) > 0
    assert service["KillMode"] == "mixed" and service["KillSignal"] == "SIGTERM"
    grace = DeadlineSettings().shutdown_grace_s
    assert seconds(service["TimeoutStopSec"]) > grace
    assert service["Restart"] == "on-failure"
    assert "3" in service["RestartPreventExitStatus"].split()  # a second daemon on the fund
    assert "4" in service["RestartPreventExitStatus"].split()  # a record failing on replay
    assert service["StateDirectory"] == "paperfund"
    assert service["Environment"] == "PAPERFUND_STATE__DIR=/var/lib/paperfund"
    assert service["EnvironmentFile"].startswith("-/etc/paperfund/")
    assert service["User"] == service["Group"] == "paperfund"  # a dedicated user, not root


def test_the_service_is_hardened(service: configparser.SectionProxy) -> None:
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictSUIDSGID": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[key] == value, key
