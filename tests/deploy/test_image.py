"""deploy/Dockerfile built and run: the demo as the unprivileged user, the default command
with a mounted config (health endpoints, SIGTERM within the grace period), and recovery on
the state volume to the state digest a local run computes.

Built with docker where a daemon answers, else podman (tests/support/container_image.py says
how, and how a missing base image is stood in for); tests/run.sh installs podman and
debootstrap. The image is cached by a hash of the build context: seconds when the tree is
unchanged, a few minutes cold.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import container_image as images

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "examples" / "demo.yaml"
STATE = "/var/lib/paperfund"
CONFIG = "/etc/paperfund/fund.yaml"
UID = 10001
GRACE_S = 10.0
DIGEST = re.compile(r"^state digest: (\S+)$", re.MULTILINE)


class Image:
    def __init__(self, engine: str, tag: str) -> None:
        self.engine, self.tag = engine, tag


@pytest.fixture(scope="module")
def image() -> Image:
    engine = images.engine()
    tag, _ = images.build(engine)
    return Image(engine, tag)


def digest_of(output: str) -> str:
    found = DIGEST.findall(output)
    assert len(found) == 1, f"no single `state digest:` line in:\n{output}"
    return found[0]


def local_digest(config: Path, tmp: Path, **env: str) -> str:
    """The digest of the same fund run here, from the virtualenv, to its end."""
    settings = dict(os.environ, PAPERFUND_STATE__DIR=str(tmp / "local-state"), **env)
    settings |= {"PAPERFUND_CONTROL__HTTP__HOST": "127.0.0.1", "PAPERFUND_CONTROL__HTTP__PORT": "0"}
    args = ["run", "--config", str(config)] if config != DEMO else ["run"]
    done = subprocess.run(
        [sys.executable, "-m", "daemon.cli", *args],
        capture_output=True,
        text=True,
        env=settings,
        cwd=tmp,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return digest_of(done.stdout)


def test_the_demo_runs_unprivileged_and_recovers_on_its_volume(
    image: Image, tmp_path: Path
) -> None:
    who = images.run_once(image.engine, "--entrypoint", "id", image.tag, "-u")
    assert (who.returncode, who.stdout.strip()) == (0, str(UID))
    expected = local_digest(DEMO, tmp_path)
    with images.volume(image.engine) as state:
        runs = []
        for _ in range(2):  # the second run recovers the finished fund from the volume
            done = images.run_once(
                image.engine, "--network", "none", "-v", f"{state}:{STATE}", image.tag, "run"
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert "fund demo" in done.stdout and "trend" in done.stdout  # the summary
            runs.append(done)
    assert [digest_of(done.stdout) for done in runs] == [expected, expected]
    assert "replayed" in runs[1].stderr or "ready at slice 504" in runs[1].stderr


@pytest.fixture
def fund_config(tmp_path: Path) -> Path:
    """The demo's strategies on an endless paced synthetic feed, served on all interfaces
    (which needs a token) with the state on the volume: what the Deployment mounts."""
    settings = yaml.safe_load(DEMO.read_text())
    settings["feed"] |= {"bars": 2000, "speed": 86400 * 20}  # 20 daily bars a second
    settings["state"]["dir"] = STATE
    settings["control"]["http"] |= {"host": "0.0.0.0", "port": 8377, "token": "image-test"}
    settings["deadlines"]["shutdown_grace_s"] = GRACE_S
    path = tmp_path / "fund.yaml"
    path.write_text(yaml.safe_dump(settings))
    path.chmod(0o644)  # read by the image's user
    return path


def answers(url: str, deadline_s: float) -> int:
    """Poll `url` until it answers 200 or the deadline passes; the last status (0: none)."""
    status = 0
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        if status == 200:
            break
        time.sleep(0.2)  # poll interval, not synchronisation: the loop ends on the state
    return status


@pytest.fixture
def fund_volume(image: Image) -> Iterator[str]:
    with images.volume(image.engine) as state:
        yield state


def test_default_command_serves_health_stops_on_sigterm_and_resumes(
    image: Image, fund_config: Path, fund_volume: str, tmp_path: Path
) -> None:
    mounts = ["-v", f"{fund_volume}:{STATE}", "-v", f"{fund_config}:{CONFIG}:ro"]
    with images.container(image.engine, "-p", "127.0.0.1::8377", *mounts, image.tag) as fund:
        port = images.published_port(image.engine, fund, 8377)
        assert answers(f"http://127.0.0.1:{port}/healthz", 60) == 200
        assert answers(f"http://127.0.0.1:{port}/readyz", 30) == 200
        images.call(image.engine, "kill", "--signal", "TERM", fund)
        started = time.monotonic()
        waited = images.call(image.engine, "wait", fund, timeout_s=GRACE_S + 30)
        stopped_s = time.monotonic() - started
        assert waited.stdout.strip() == "0"
        assert stopped_s < GRACE_S
        logs = images.call(image.engine, "logs", fund)
        interrupted = digest_of(logs.stdout + logs.stderr)
    # the same volume, the rest of the feed at full speed: the fund an uninterrupted run gives
    resumed = images.run_once(image.engine, "-e", "PAPERFUND_FEED__SPEED=0", *mounts, image.tag)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    expected = local_digest(fund_config, tmp_path, PAPERFUND_FEED__SPEED="0")
    assert digest_of(resumed.stdout) == expected != interrupted
