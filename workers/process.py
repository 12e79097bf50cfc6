"""`ProcessWorker`: a strategy host in a child process, behind a pipe.

The child is started with the "spawn" method and builds the strategy itself from its import
path and parameters: the parent never imports strategy code, and never unpickles anything of
it (snapshots cross the pipe as opaque bytes). Messages and replies are the host protocol of
`workers.host`, pickled (protocol 5) one per `send_bytes`.

Waiting for a reply does not block the event loop: the pipe's descriptor is watched with
`loop.add_reader`, then the reply, already written, is read. One request is in flight at a
time per worker.

Failure handling:
- a step that overruns `step_timeout_s` (any other operation, `control_timeout_s`) gets the
  child killed with SIGKILL and raises `WorkerTimeout`;
- EOF on the pipe (the child exited or was killed) raises `WorkerCrashed`;
- cancelling a request kills the child too, since its reply could no longer be matched.
After any of these the worker is down; `await worker.restart(snapshot)` spawns a new child
and restores a snapshot. Exceptions in strategy code do not end the child, `SystemExit` and
`KeyboardInterrupt` included: `run_step` puts them in `StepReport.error` or `.fault`.

The child ignores SIGINT (Ctrl-C at a terminal is for the parent to handle) and exits,
quietly, once the parent's end of the pipe is closed (EOF, reset or broken pipe), so it
never outlives the parent, not even one killed with SIGKILL. Children are daemonic:
multiprocessing terminates any still running when the parent exits, and they cannot start
processes of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import pickle
import signal
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Protocol

from workers.errors import WorkerCrashed, WorkerError, WorkerTimeout
from workers.host import (
    PICKLE_PROTOCOL,
    HostClient,
    Reply,
    StrategyHost,
    build_host,
    error_reply,
    unwrap,
)

if TYPE_CHECKING:
    from workers.factory import WorkerSpec

CLOSE_GRACE_S = 5.0
"""How long a closing child may take to exit before it is killed."""


async def reap(process: BaseProcess, grace_s: float) -> tuple[int | None, bool]:
    """Wait up to `grace_s` for `process` to exit, kill it if it has not, and release it:
    (its exit code, whether it was killed here)."""
    if grace_s > 0:
        await asyncio.to_thread(process.join, grace_s)
    killed = process.exitcode is None
    if killed:
        process.kill()
        await asyncio.to_thread(process.join)
    code = process.exitcode
    process.close()
    return code, killed


def encode(value: object) -> bytes:
    return pickle.dumps(value, protocol=PICKLE_PROTOCOL)


class _StepMessages:
    """The last step message, encoded: a slice goes to every worker, pickled once.

    Keyed on the slice object itself (held, so its identity cannot be reused); slices are
    immutable, so the same object always encodes to the same message.
    """

    __slots__ = ("_data", "_market", "_trading")

    def __init__(self) -> None:
        self._market: object = None
        self._trading = False
        self._data = b""

    def encode(self, args: tuple[Any, ...]) -> bytes:
        market, trading = args
        if market is not self._market or trading is not self._trading:
            self._data = encode(("step", args))
            self._market, self._trading = market, trading
        return self._data


_step_messages = _StepMessages()


class _Server:
    """The child's side: builds the host on "build", then hands messages to it."""

    def __init__(self) -> None:
        self.host: StrategyHost | None = None
        self.closed = False

    def answer(self, data: bytes) -> Reply:
        try:
            op, args = pickle.loads(data)
            if op == "close":
                self.closed = True
                return ("ok", None)
            if op == "build":
                self.host = build_host(*args)
                return ("ok", None)
            if self.host is None:
                raise WorkerError(f"operation {op!r} before the host was built")
        except Exception as exc:  # a bad message, or the strategy failed to import or build
            return error_reply(exc)
        return self.host.handle((op, args))


def encode_reply(reply: Reply) -> bytes:
    try:
        return encode(reply)
    except Exception as exc:  # e.g. a snapshot of an unpicklable strategy
        return encode(error_reply(exc))


class Server(Protocol):
    """What a child's loop serves: one reply per message, until `closed`."""

    closed: bool

    def answer(self, data: bytes) -> Reply: ...


def serve(conn: Connection) -> None:
    """The child's loop of a `ProcessWorker`."""
    serve_with(conn, _Server())


def serve_with(conn: Connection, server: Server) -> None:
    """The child's loop: one reply per message, until "close" or the parent is gone.

    The parent's end closing is how a child learns that the daemon died or killed it: EOF,
    a reset (the parent left a reply unread) or a broken pipe (it left during a step) all
    end the loop quietly, since none of them is the child's error to report.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while not server.closed:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        reply = encode_reply(server.answer(data))
        try:
            conn.send_bytes(reply)
        except OSError:
            return


class ProcessWorker(HostClient):
    """The async face of a `StrategyHost` in a child process."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def alive(self) -> bool:
        return self._conn is not None

    # ---- lifecycle -------------------------------------------------------------------
    async def _open(self) -> None:
        if self._process is not None:
            raise WorkerError(f"worker {self.spec.strategy_id} is already running")
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=serve,
            args=(child_end,),
            name=f"paperfund-worker-{self.spec.strategy_id}",
            daemon=True,
        )
        process.start()
        child_end.close()
        self._process, self._conn = process, parent_end
        spec = self.spec
        build = (spec.strategy_id, spec.strategy_path, spec.params, spec.ledger, spec.history_bars)
        try:
            await self._call("build", build, spec.control_timeout_s)
        except Exception:
            await self._discard()
            raise

    async def _discard(self) -> None:
        self._kill()
        await self._reap(0.0)

    async def close(self) -> None:
        """Ask the child to exit, kill it if it does not in time; idempotent."""
        if self._conn is not None:
            with contextlib.suppress(WorkerError):  # died or hung: reaped below either way
                await self._call("close", (), CLOSE_GRACE_S)
        self._drop_pipe()
        await self._reap(CLOSE_GRACE_S)

    def _kill(self) -> None:
        """SIGKILL the child (if running) and drop the pipe; the process is reaped later."""
        process = self._process
        if process is not None and process.exitcode is None:
            process.kill()
        self._drop_pipe()

    def _drop_pipe(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _reap(self, grace_s: float) -> int | None:
        """Wait for the child to exit (killing it after `grace_s`); return its exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        code, _ = await reap(process, grace_s)
        return code

    # ---- requests --------------------------------------------------------------------
    async def _call(self, op: str, args: tuple[Any, ...], timeout_s: float) -> Any:
        async with self._lock:
            conn = self._conn
            if conn is None:
                raise WorkerCrashed(f"worker {self.spec.strategy_id} is not running")
            try:
                conn.send_bytes(_step_messages.encode(args) if op == "step" else encode((op, args)))
                async with asyncio.timeout(timeout_s):
                    await readable(conn)
                data = conn.recv_bytes()
            except TimeoutError:
                self._kill()
                await self._reap(0.0)
                raise WorkerTimeout(
                    f"worker {self.spec.strategy_id}: {op} overran {timeout_s} s; killed"
                ) from None
            except (EOFError, OSError):
                self._drop_pipe()
                code = await self._reap(CLOSE_GRACE_S)
                raise WorkerCrashed(
                    f"worker {self.spec.strategy_id} died during {op} (exit code {code})"
                ) from None
            except asyncio.CancelledError:
                self._kill()  # its reply would answer the next request
                raise
        return unwrap(pickle.loads(data))


async def readable(conn: Connection) -> None:
    """Wait until `conn` has data (or EOF) without blocking the event loop."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    fd = conn.fileno()
    loop.add_reader(fd, _wake, ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)
