"""What probes, newcomers and impatient clients meet on the HTTP control plane: HEAD on the
health routes, the list of routes at `/`, and a client that hangs up before its body ends."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from daemon.control.openapi import openapi_document
from tests.support.control_plane import control


async def raw(port: int, request: bytes) -> bytes:
    """Send `request` on a fresh connection; everything the server answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    await writer.wait_closed()
    return answer


async def head(port: int, path: str) -> tuple[str, bytes]:
    """The status line of `HEAD path` and what follows its headers (nothing, for HEAD)."""
    answer = await raw(
        port, f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )
    headers, _, body = answer.partition(b"\r\n\r\n")
    return headers.split(b"\r\n")[0].decode(), body


async def test_head_on_the_health_routes_answers_without_a_body(tmp_path: Path) -> None:
    async with control(tmp_path, max_bar_age_s=3600) as c:
        port = c.server.port
        assert await head(port, "/healthz") == ("HTTP/1.1 200 OK", b"")
        assert await head(port, "/readyz") == ("HTTP/1.1 503 Service Unavailable", b"")
        await c.feed.release(c.slices[0])
        assert await head(port, "/readyz") == ("HTTP/1.1 200 OK", b"")
        assert (await head(port, "/v1/status"))[0] == "HTTP/1.1 405 Method Not Allowed"


async def test_the_root_lists_every_route(tmp_path: Path) -> None:
    async with control(tmp_path) as c:
        status, routes = await c.get("/")
        assert status == 200
        assert routes[0] == {
            "method": "GET",
            "path": "/",
            "description": "Every route, with what it does",
        }
        assert {"method": "HEAD", "path": "/healthz"} in [
            {k: r[k] for k in ("method", "path")} for r in routes
        ]
        assert all(r["description"] for r in routes)
        documented = openapi_document()["paths"]
        listed = {(r["path"], r["method"].lower()) for r in routes}
        assert listed == {(path, method) for path, item in documented.items() for method in item}
        for route in routes:  # each listed route is served
            if route["method"] == "GET" and "{" not in route["path"]:
                async with c.client.get(route["path"]) as response:
                    metrics_off = route["path"] == "/metrics"  # not enabled here
                    assert response.status == (404 if metrics_off else 200), route


class _Records(logging.Handler):
    """The records of one logger, and an event set on the first."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.first = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.first.set()


async def test_a_client_hanging_up_mid_body_is_one_info_line(tmp_path: Path) -> None:
    logger = logging.getLogger("daemon.control.http")
    records = _Records()
    logger.addHandler(records)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        async with control(tmp_path) as c:
            _, writer = await asyncio.open_connection("127.0.0.1", c.server.port)
            writer.write(
                b"POST /v1/commands HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                b'{"type": "'  # 10 of the 1000 bytes promised
            )
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            await asyncio.wait_for(records.first.wait(), 10)
            assert await c.get("/healthz") == (200, {"status": "ok"})
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    [record] = records.records
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == "client closed the connection during POST /v1/commands"
