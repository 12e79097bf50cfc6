"""The fake Binance server (`tests/support/fake_exchange.py`) as a child process, for
end-to-end tests of a daemon subprocess that polls it.

`FakeExchangeProcess` runs `python -m tests.support.fake_exchange` from the repository root,
waits (at most `startup_timeout_s`) for the URL line it prints once it listens, and stops it
with SIGTERM, then SIGKILL after `stop_timeout_s`. A failed start raises `RuntimeError` with
the child's stderr and leaves no child behind; so does leaving the `with` block, however it
is left. The child serves on the real clock.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from tests.support.binance_wire import exchange_options

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


class FakeExchangeProcess:
    """One fake Binance server process for `symbols` (usable with `with` or `async with`; the
    async form blocks the loop while it starts or stops, within the same bounds)."""

    def __init__(
        self,
        symbols: Sequence[str] = ("BTC/USDT", "ETH/USDT"),
        *,
        seed: int = 1,
        port: int = 0,
        delay_s: Mapping[str, float] | None = None,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
        stop_timeout_s: float = STOP_TIMEOUT_S,
    ) -> None:
        self.args = ["--symbols", *symbols, "--seed", str(seed), "--port", str(port)]
        for symbol, seconds in (delay_s or {}).items():
            self.args += ["--delay", f"{symbol}={seconds}"]
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the fake exchange process is not running")
        return self._url

    def exchange_options(self, *, timeout_ms: int = 10_000) -> dict[str, Any]:
        """ccxt constructor options for this server (`binance_wire.exchange_options`)."""
        return exchange_options(self.url, timeout_ms=timeout_ms)

    def start(self) -> str:
        """Start the child and return its URL once it listens."""
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.fake_exchange", *self.args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        try:
            self._url = self._read_url(self.process)
        except BaseException:
            self.stop()
            raise
        return self._url

    def _read_url(self, process: subprocess.Popen[bytes]) -> str:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        deadline = time.monotonic() + self.startup_timeout_s
        received = b""
        while b"\n" not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail(f"printed no URL within {self.startup_timeout_s} s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:  # it closed its stdout: it is exiting
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=self.stop_timeout_s)
                    self._fail(f"exited with {process.returncode} before it listened")
                received += chunk
        line = received.decode(errors="replace").strip()
        if not line.startswith("http://127.0.0.1:"):
            self._fail(f"printed {line!r} instead of its URL")
        return line

    def _fail(self, what: str) -> None:
        stderr = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            stderr = self._stderr.read().decode(errors="replace")
        raise RuntimeError(f"the fake exchange process {what}; its stderr:\n{stderr}")

    def stop(self) -> int | None:
        """SIGTERM, SIGKILL after `stop_timeout_s`; reap it. Returns its exit code."""
        process, self.process, self._url = self.process, None, None
        if process is None:
            return None
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=self.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None
        return process.returncode

    def __enter__(self) -> FakeExchangeProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeExchangeProcess:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
