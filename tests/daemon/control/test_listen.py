"""The HTTP API's port is bound before the fund starts; a busy one names the setting."""

from __future__ import annotations

import asyncio
import socket
import urllib.request

import pytest
from aiohttp import web

from daemon.control.http import serve
from daemon.control.listen import ListenError, bind, close


def test_a_port_in_use_names_the_setting_and_the_variable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(ListenError) as info:
            bind("127.0.0.1", port)
    assert info.value.setting == "control.http.port"
    assert f"127.0.0.1:{port} is already in use" in info.value.reason
    assert "PAPERFUND_CONTROL__HTTP__PORT" in info.value.reason


def test_a_host_that_does_not_resolve_names_the_host_setting() -> None:
    with pytest.raises(ListenError) as info:
        bind("no-such-host.invalid", 0)
    assert info.value.setting == "control.http.host"


def test_a_bound_port_stays_taken_until_closed() -> None:
    sockets = bind("127.0.0.1", 0)
    port = sockets[0].getsockname()[1]
    with pytest.raises(ListenError):
        bind("127.0.0.1", port)
    close(sockets)
    close(bind("127.0.0.1", port))


async def test_serve_answers_on_sockets_bound_beforehand() -> None:
    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    sockets = bind("127.0.0.1", 0)
    port = sockets[0].getsockname()[1]
    async with await serve(app, "127.0.0.1", 12345, sockets=sockets) as server:
        assert server.port == port
        url = f"http://127.0.0.1:{port}/"
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())
    assert body == b"hello"
