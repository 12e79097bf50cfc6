"""Binding the HTTP API's port before anything else starts, so that a busy port is reported
as the setting to change, before a state directory is created.

`bind(host, port)` opens the listening sockets the way `asyncio`'s `create_server` would
(one per address `host` resolves to; `""` is every interface) and raises `ListenError`
naming the setting and what to do; `serve(..., sockets=...)` then serves on them.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence

BACKLOG = 100
PORT_SETTING = "control.http.port"
HOST_SETTING = "control.http.host"
PORT_VARIABLE = "PAPERFUND_CONTROL__HTTP__PORT"


class ListenError(OSError):
    """The HTTP API cannot listen where configured; `setting` is the option to change."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(reason)
        self.setting = setting
        self.reason = reason


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on `host:port` (port 0: a free one); raises `ListenError`."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ListenError(
            HOST_SETTING,
            f"cannot resolve {host!r} ({exc.strerror}); give an address of this machine",
        ) from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
    except OSError as exc:
        close(sockets)
        raise _listen_error(exc, host, port) from None
    return sockets


def close(sockets: Sequence[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def _listen_error(exc: OSError, host: str, port: int) -> ListenError:
    where = f"{host}:{port}" if host else f"port {port}"
    if exc.errno == errno.EADDRINUSE:
        return ListenError(
            PORT_SETTING,
            f"{where} is already in use (another paperfund daemon, or another program); "
            f"choose a free port with {PORT_SETTING} in the settings file or "
            f"{PORT_VARIABLE}=..., or turn the HTTP API off with control.http.enabled: false",
        )
    if exc.errno == errno.EACCES:
        return ListenError(
            PORT_SETTING,
            f"not allowed to listen on {where} (ports below 1024 need privileges); "
            f"choose a port above 1023 with {PORT_SETTING} or {PORT_VARIABLE}",
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return ListenError(
            HOST_SETTING, f"{host!r} is not an address of this machine; use 127.0.0.1"
        )
    return ListenError(PORT_SETTING, f"cannot listen on {where}: {exc.strerror or exc}")
