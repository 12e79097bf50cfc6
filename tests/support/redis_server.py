"""A throwaway `redis-server` on a free local port, for tests that need Redis.

`RedisServer` starts the real binary without persistence, waits until it answers PING, and
can be stopped (SIGKILL, like a crash) and started again on the same port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from types import TracebackType

import redis

STARTUP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.02


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """One `redis-server` process on `port` (a free one unless given)."""

    def __init__(self, binary: str, port: int | None = None, args: Sequence[str] = ()) -> None:
        self.binary = binary
        self.port = free_port() if port is None else port
        self.args = list(args)
        """Extra server arguments (e.g. persistence, ACL users); may change between starts."""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", *self.args]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Poll PING until the server answers (bounded), failing early if it exited."""
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        # (the default user answers PING whatever the other ACL users are)
        try:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self._process.returncode}")
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server not ready on port {self.port}")
                time.sleep(POLL_INTERVAL_S)
        finally:
            client.close()

    def stop(self) -> None:
        """Kill the server (no shutdown save, like a crash) and reap it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
