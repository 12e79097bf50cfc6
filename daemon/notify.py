"""The systemd notify protocol: datagrams to `$NOTIFY_SOCKET` (sd_notify(3)).

`READY=1` once the fund is ready (as `/readyz` would say), `STOPPING=1` once, when a stop
is requested or the feed ends (whichever comes first), `WATCHDOG=1` every half `WatchdogSec`
while the event loop runs (a loop stalled by a runaway in-process step stops the pings, and
systemd restarts the service), `STATUS=` lines for `systemctl status`. Without
`$NOTIFY_SOCKET` (not under systemd) nothing is sent.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping

from daemon import logs

_log = logs.get("paperfund.notify")


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET") or None
        if path is not None and path.startswith("@"):
            path = "\0" + path[1:]  # an abstract socket
        self.address = path
        self.watchdog_s: float | None = None
        self._stopping_sent = False
        usec = env.get("WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        if usec and usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_s = int(usec) / 1_000_000

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """Send `fields` (e.g. "READY=1") as one datagram; False when not under systemd or
        the socket is gone (never raises: systemd is an observer, not a dependency)."""
        if self.address is None:
            return False
        message = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(message)
        except OSError as exc:
            _log.warning("systemd notification failed", error=str(exc))
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}")

    def stopping(self, status: str = "stopping") -> bool:
        """Send STOPPING=1 the first time only (a signal and the end of the run both stop
        the fund; systemd is told once)."""
        if self._stopping_sent:
            return False
        self._stopping_sent = True
        return self.send("STOPPING=1", f"STATUS={status}")

    async def keep_alive(self) -> None:
        """Ping the watchdog every half interval until cancelled (no-op without one)."""
        if self.watchdog_s is None or not self.enabled:
            return
        while True:
            self.send("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_s / 2)

    async def ready_when(self, is_ready: Callable[[], bool], status: Callable[[], str]) -> None:
        """Send READY=1 once `is_ready()` holds (checked every 0.2 s, a cheap call)."""
        if not self.enabled:
            return
        while not is_ready():
            await asyncio.sleep(0.2)
        self.ready(status())
