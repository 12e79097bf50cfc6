"""The HTTP transport of the control plane (aiohttp): commands, views, health and metrics.

    POST /v1/commands                one command; 200 applied, or rejected (says why):
                                     422 invalid, 403 unsigned or wrongly signed,
                                     409 valid but refused by the fund's state
    GET  /v1/commands/{command_id}   a remembered command's replies (`daemon.outcomes`)
    GET  /v1/status, /v1/strategies, /v1/strategies/{strategy_id}, /v1/rebalances[?limit=N]
    GET  /healthz, /readyz (HEAD too, for probes), /metrics, /openapi.json
    GET  /                           every route: method, path and what it does

`daemon.control.openapi` documents every route. Answers are JSON (metrics aside) and every
error is `{"error": "..."}`, without a stack trace. With a token, the /v1 routes need
`Authorization: Bearer <token>`, compared in constant time and never logged or echoed; the
health, metrics and document routes stay open. A fund bound beyond loopback must have a
token (`requires_token`).
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from config.control import requires_token
from daemon.commands import parse_command
from daemon.control.health import Health
from daemon.control.openapi import SIGNATURE_HEADER, openapi_document
from daemon.control.service import MAX_COMMAND_BYTES, CommandService, Reply
from daemon.control.views import fund_status, rebalances_view, strategies_view, strategy_view
from daemon.engine import FundEngine
from daemon.errors import CommandRejected
from daemon.shard_statistics import refresh_for_reading

Metrics = Callable[[], tuple[bytes, str]]
"""The metrics exposition: its body and its content type."""

API_PREFIX = "/v1/"
SHUTDOWN_TIMEOUT_S = 5.0
TOO_LARGE = f"the command body is larger than {MAX_COMMAND_BYTES} bytes"
INCOMPLETE = "the connection closed before the body was complete"
_KEPT_HEADERS = (hdrs.ALLOW, hdrs.WWW_AUTHENTICATE)

_log = logging.getLogger(__name__)

__all__ = ["Metrics", "Server", "build_app", "requires_token", "serve"]


def _json_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _message(request: web.Request, exc: web.HTTPException) -> str:
    if exc is getattr(request.match_info, "http_exception", None):  # the router's answer
        if isinstance(exc, web.HTTPMethodNotAllowed):
            allowed = ", ".join(sorted(exc.allowed_methods))
            return f"method {request.method} is not allowed on {request.path}; allowed: {allowed}"
        return f"no route {request.method} {request.path}"
    return exc.text or exc.reason


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {str(k): exc.headers[k] for k in _KEPT_HEADERS if k in exc.headers}
        return _json_error(exc.status, _message(request, exc), headers)
    except Exception:
        _log.exception("control request %s %s failed", request.method, request.path)
        return _json_error(500, "internal error")


def _indented(value: Any) -> str:
    return json.dumps(value, indent=1)


def _protected(request: web.Request) -> bool:
    resource = request.match_info.route.resource
    if resource is not None:
        return resource.canonical.startswith(API_PREFIX)
    return request.path.startswith("/v1")  # unknown /v1 routes do not reveal themselves


def _bearer(token: str) -> Middleware:
    expected = token.encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _protected(request):
            scheme, _, credentials = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
            given = credentials.strip().encode("utf-8", "surrogateescape")
            if scheme.lower() != "bearer" or not given:
                raise web.HTTPUnauthorized(
                    text="authorization required: send Authorization: Bearer <token>",
                    headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="paperfund"'},
                )
            if not hmac.compare_digest(given, expected):
                raise web.HTTPUnauthorized(
                    text="wrong bearer token",
                    headers={
                        hdrs.WWW_AUTHENTICATE: 'Bearer realm="paperfund", error="invalid_token"'
                    },
                )
        return await handler(request)

    return check


def _require_json(request: web.Request) -> None:
    if hdrs.CONTENT_TYPE not in request.headers:
        return
    kind = request.content_type
    if kind != "application/json" and not (
        kind.startswith("application/") and kind.endswith("+json")
    ):
        raise web.HTTPUnsupportedMediaType(
            text=f"content type must be application/json, not {kind[:100]!r}"
        )


async def _read_body(request: web.Request) -> bytes:
    length = request.content_length
    if length is not None and length > MAX_COMMAND_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_COMMAND_BYTES, length, text=TOO_LARGE)
    try:
        return await request.read()  # the app's client_max_size stops a body without a length
    except web.HTTPRequestEntityTooLarge:
        raise web.HTTPRequestEntityTooLarge(MAX_COMMAND_BYTES, text=TOO_LARGE) from None
    except ConnectionResetError:
        # the client hung up before its body was complete: nothing failed here, and the
        # answer below reaches no one
        _log.info("client closed the connection during %s %s", request.method, request.path)
        raise web.HTTPBadRequest(text=INCOMPLETE) from None


def _limit(request: web.Request) -> int | None:
    raw = request.query.get("limit")
    if raw is None:
        return None
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if limit < 1:
        raise web.HTTPBadRequest(text=f"limit must be a positive integer, not {raw[:40]!r}")
    return limit


class _Routes:
    """The handlers, bound to the fund they show and command."""

    def __init__(
        self, service: CommandService, health: Health, metrics: Metrics | None, token: bool
    ) -> None:
        self.service = service
        self.health = health
        self.metrics_of = metrics
        self.document = openapi_document(token=token, signing=service.signing)
        self.routes = [
            {"method": method.upper(), "path": path, "description": operation["summary"]}
            for path, item in self.document["paths"].items()
            for method, operation in item.items()
        ]

    def table(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/commands", self.post_command),
            web.get("/v1/commands/{command_id}", self.command_replies, allow_head=False),
            web.get("/v1/status", self.status, allow_head=False),
            web.get("/v1/strategies", self.strategies, allow_head=False),
            web.get("/v1/strategies/{strategy_id}", self.strategy, allow_head=False),
            web.get("/v1/rebalances", self.rebalances, allow_head=False),
            web.get("/", self.index, allow_head=False),
            web.get("/healthz", self.healthz),  # and HEAD: probes and load balancers send it
            web.get("/readyz", self.readyz),
            web.get("/metrics", self.metrics, allow_head=False),
            web.get("/openapi.json", self.openapi, allow_head=False),
        ]

    def _engine(self) -> FundEngine:
        engine = self.service.supervisor.engine
        if engine is None:
            raise web.HTTPServiceUnavailable(text="the fund has not started yet")
        return engine

    async def post_command(self, request: web.Request) -> web.Response:
        _require_json(request)
        body = await _read_body(request)
        self._engine()
        accepted: list[Reply] = []

        def seen(reply: Reply) -> None:
            if reply.status == "accepted":
                accepted.append(reply)

        signature = request.headers.get(SIGNATURE_HEADER)
        final = await self.service.execute(body, signature, seen)
        result: dict[str, Any] = {
            "reply": final.to_dict(),
            "accepted": accepted[0].to_dict() if accepted else None,
        }
        status = 200 if final.status == "applied" else self._refusal(body, signature)
        return web.json_response(result, status=status)

    def _refusal(self, body: bytes, signature: str | None) -> int:
        """403 unsigned, 422 not a valid command, 409 valid but refused by the fund."""
        if not self.service.signed(body, signature):
            return 403
        try:
            parse_command(body)
        except CommandRejected:
            return 422
        return 409

    async def command_replies(self, request: web.Request) -> web.Response:
        command_id = request.match_info["command_id"]
        replies = self.service.replies_of(command_id)
        if replies is None:
            raise web.HTTPNotFound(text=f"no replies kept for command {command_id[:128]!r}")
        body = {"command_id": command_id, "replies": [r.to_dict() for r in replies]}
        return web.json_response(body)

    async def status(self, request: web.Request) -> web.Response:
        supervisor = self.service.supervisor
        await refresh_for_reading(supervisor.engine)
        view = fund_status(
            self.service.fund_name,
            self._engine(),
            recovering=supervisor.recovering,
            snapshot_error=supervisor.snapshot_error,
        )
        return web.json_response(view)

    async def strategies(self, request: web.Request) -> web.Response:
        await refresh_for_reading(self.service.supervisor.engine)
        return web.json_response(strategies_view(self._engine()))

    async def strategy(self, request: web.Request) -> web.Response:
        engine = self._engine()
        await refresh_for_reading(engine)
        strategy_id = request.match_info["strategy_id"]
        record = engine.book.records.get(strategy_id)
        if record is None:
            raise web.HTTPNotFound(text=f"no strategy {strategy_id[:128]!r}")
        return web.json_response(strategy_view(engine, record))

    async def rebalances(self, request: web.Request) -> web.Response:
        limit = _limit(request)
        return web.json_response(rebalances_view(self._engine().book, limit))

    async def index(self, request: web.Request) -> web.Response:
        return web.json_response(self.routes, dumps=_indented)  # read by people: one a line

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        ready, checks = self.health.ready()
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        if self.metrics_of is None:
            raise web.HTTPNotFound(text="metrics are not enabled")
        await refresh_for_reading(self.service.supervisor.engine)
        body, content_type = self.metrics_of()
        # the exposition's content type carries a charset: set as a header, not parsed
        return web.Response(body=body, headers={hdrs.CONTENT_TYPE: content_type})

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(self.document)


def build_app(
    service: CommandService,
    health: Health,
    *,
    token: str | None = None,
    metrics: Metrics | None = None,
) -> web.Application:
    """The control plane's application. `token`: the bearer token the /v1 routes need
    (None: none needed; see `requires_token`). `metrics`: serves `/metrics` when given."""
    middlewares: list[Middleware] = [_json_errors]
    if token is not None:
        if not token:
            raise ValueError("the control token must not be empty")
        middlewares.append(_bearer(token))
    app = web.Application(middlewares=middlewares, client_max_size=MAX_COMMAND_BYTES)
    app.add_routes(_Routes(service, health, metrics, token is not None).table())
    return app


@dataclass
class Server:
    """A running control plane; `port` is the bound one (useful with port 0)."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def close(self) -> None:
        await self.runner.cleanup()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    shutdown_timeout_s: float = SHUTDOWN_TIMEOUT_S,
    access_log: bool = False,
    sockets: Sequence[socket.socket] = (),
) -> Server:
    """Serve `app` on `host:port` (port 0: a free one) until the returned server is closed.
    Requests still running at close get `shutdown_timeout_s` to finish. `access_log`: a
    line per request on the `aiohttp.access` logger (off: probes would flood the log).
    `sockets`: listening sockets bound beforehand (`daemon.control.listen.bind`) to serve
    on instead of binding `host:port` here."""
    logger = logging.getLogger("aiohttp.access") if access_log else None
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout_s, access_log=logger)
    await runner.setup()
    try:
        if not sockets:
            await web.TCPSite(runner, host, port).start()
        for sock in sockets:
            await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        raise
    return Server(runner, host, int(runner.addresses[0][1]))
