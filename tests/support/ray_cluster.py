"""A throwaway local Ray cluster on loopback, for tests that run strategies in Ray actors.

`RayCluster` runs `ray start --head --block` in a session of its own, with a short temporary
directory (Ray's unix sockets live under it and their paths are limited to ~107 bytes), token
authentication with a token file in that directory (never `~/.ray/auth_token`; one token for
every cluster this process starts, because a Ray driver reads its token once), no dashboard
and no usage statistics. Every address is on 127.0.0.1.
Start-up is bounded (`startup_timeout_s`); `stop()` ends every process of the session and
removes the directory.

Drivers join with `env` in their environment (the token and the mode), then
`ray.init(address=cluster.address)`; `cluster.client_address` is the Ray Client endpoint
(`ray://127.0.0.1:<port>`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.support.redis_server import free_port

STARTUP_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
"""SIGTERM to `ray start --block` ends its processes gracefully; what is left after this is
killed."""
POLL_INTERVAL_S = 0.05
TOKEN = secrets.token_hex(32)
OBJECT_STORE_BYTES = 128 * 1024 * 1024
"""Tests pass slices and small replies: the smallest store Ray takes comfortably."""
WITH_PARENT = """
import ctypes, os, signal, sys
PR_SET_PDEATHSIG = 1
if ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_PDEATHSIG) failed")
if os.getppid() != int(sys.argv[1]):
    sys.exit("the parent is gone")
os.execv(sys.argv[2], sys.argv[2:])
"""
"""Runs a command that gets SIGTERM when the process that started it dies (the signal is
kept across exec), so that a test run killed outright does not leave a Ray cluster behind:
`ray start --block` stops its processes on SIGTERM."""


class RayClusterError(RuntimeError):
    """The local Ray cluster did not start, or did not stop, in time."""


def ray_executable() -> str:
    """The `ray` command installed beside this interpreter (the `ray` dev dependency)."""
    beside = Path(sys.executable).parent / "ray"
    if not beside.is_file():
        raise RayClusterError(
            f"{beside} not found: install the dev extra (pip install -e '.[dev]')"
        )
    return str(beside)


def session_processes(sid: int) -> list[int]:
    """Process ids whose session is `sid` (zombies, already dead, are left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            found.append(int(entry.name))
    return found


def memory_pss_kib(pids: list[int]) -> int:
    """Proportional set size of `pids` together (shared pages counted once), in KiB."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total


class RayCluster:
    """One Ray head node with `num_cpus` CPUs on 127.0.0.1."""

    def __init__(self, *, num_cpus: int = 2, startup_timeout_s: float = STARTUP_TIMEOUT_S):
        self.num_cpus = num_cpus
        self.startup_timeout_s = startup_timeout_s
        self.temp_dir: Path | None = None
        self.address = ""
        """The GCS address, host:port: what `ray.init(address=...)` takes."""
        self.client_port = 0
        self.startup_s = 0.0
        """How long `start()` took, until the head was ready."""
        self.sid = 0
        """The session of `ray start` and of every process of the cluster."""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def client_address(self) -> str:
        return f"ray://127.0.0.1:{self.client_port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment a process needs to run Ray against this cluster."""
        assert self.temp_dir is not None, "not started"
        return {
            "RAY_USAGE_STATS_ENABLED": "0",
            # Ray resolves 127.0.0.1 to the machine's address unless told it is a one-node
            # cluster: then every component binds and advertises loopback only.
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(self.temp_dir / "auth_token"),
        }

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    def processes(self) -> list[int]:
        """Every live process of the cluster (its session), workers and actors included."""
        return session_processes(self.sid) if self.sid else []

    def start(self) -> None:
        started = time.monotonic()
        # /tmp/rayXXXXXXXX: the sockets under it stay well within the unix path limit
        self.temp_dir = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
        (self.temp_dir / "auth_token").write_text(TOKEN)
        self.client_port = free_port()
        args = [sys.executable, "-c", WITH_PARENT, str(os.getpid()), ray_executable()]
        args += ["start", "--head", "--block", "--disable-usage-stats"]
        args += ["--node-ip-address", "127.0.0.1", "--port", "0"]
        args += ["--ray-client-server-port", str(self.client_port)]
        args += ["--num-cpus", str(self.num_cpus), "--num-gpus", "0"]
        args += ["--include-dashboard", "false", "--temp-dir", str(self.temp_dir)]
        args += ["--object-store-memory", str(OBJECT_STORE_BYTES)]
        log = open(self.temp_dir / "ray-start.log", "wb")  # noqa: SIM115 (the child owns it)
        with log:
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ | self.env,
                start_new_session=True,  # its own session: stop() finds every descendant
            )
        self.sid = self._process.pid
        try:
            self.address = self._wait_address(started + self.startup_timeout_s)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started

    def _wait_address(self, deadline: float) -> str:
        """The head writes its GCS address to `ray_current_cluster` once it serves (bounded;
        fails early if `ray start` exited)."""
        assert self._process is not None and self.temp_dir is not None
        marker = self.temp_dir / "ray_current_cluster"
        while True:
            if marker.is_file() and (text := marker.read_text().strip()):
                return text
            code = self._process.poll()
            if code is not None:
                raise RayClusterError(f"ray start exited with {code}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RayClusterError(
                    f"the Ray head did not start within {self.startup_timeout_s} s:\n{self.log()}"
                )
            time.sleep(POLL_INTERVAL_S)

    def log(self) -> str:
        """What `ray start` printed (its last 4,000 characters)."""
        if self.temp_dir is None:
            return ""
        try:
            return (self.temp_dir / "ray-start.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to `ray start` (it stops its processes), SIGKILL to what is left of the
        session after `STOP_GRACE_S`; then remove the temporary directory."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(STOP_GRACE_S)
            left = _wait_session_ends(process.pid, STOP_GRACE_S)
            if left:
                for pid in left:
                    _kill(pid)
                left = _wait_session_ends(process.pid, STOP_GRACE_S)
            process.wait()
            if left:
                raise RayClusterError(f"Ray processes {left} outlived SIGKILL")
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> RayCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def listening_addresses(pids: list[int]) -> set[str]:
    """The IP addresses that `pids` listen on (TCP, IPv4 and IPv6)."""
    inodes = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(_ip(fields[1].split(":")[0], family))
    return found


def _ip(hex_address: str, family: int) -> str:
    """An address of /proc/net/tcp{,6}: 32-bit words in host byte order (little-endian)."""
    raw = bytes.fromhex(hex_address)
    packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(socket.inet_ntop(family, packed))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _wait_session_ends(sid: int, timeout_s: float) -> list[int]:
    """Wait until no process of session `sid` is left (bounded); what is left then."""
    deadline = time.monotonic() + timeout_s
    while (left := session_processes(sid)) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)
    return left


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
