"""`ShardProcess`: a `ShardHost` in a child process, behind a pipe, that names its culprit.

The child is spawned like a `ProcessWorker`'s and serves the shard protocol of
`workers.shard_host` over the same loop (`workers.process.serve_with`). What a shard adds is
a way to tell which strategy killed it:

- **the announcement**: before each member's step the child writes the member's index into
  an 8-byte file it has mapped shared (`IDLE` between steps). The parent keeps the file open
  (it is unlinked once the child has mapped it, so nothing is left behind) and reads it after
  the child died: the index names the strategy that was stepping.
- **the step deadline**, per member, inside the child: a real-time interval timer that ends
  no earlier than `step_timeout_s` after the start of each member's step
  (`max(step_timeout_s, control_timeout_s)` when the step is replayed) and no later than
  `TIMER_SLACK` of it after that, disarmed after the slice. Arming a timer is a system call
  that costs microseconds, as much as a quiet member's whole step, so it is re-armed (for the
  deadline plus the slack) only once the last arming is older than the slack. Its SIGALRM
  keeps the default action, which ends the process even while a strategy holds the GIL in
  native code. A deadline longer than `MAX_TIMER_S` (about three years) is armed at that.
  The parent also bounds a whole slice (`slice_timeout_s`) and SIGKILLs a child that
  overruns it.
- **the memory limit** (`memory_limit_mb`, optional; `workers.shard_memory`): after each
  member's step the child reads its resident set size and exits with `MEMORY_EXIT_CODE`
  when it is past the limit: the member that just stepped is the one that left it there. A
  child past its limit before any member is in it fails its start (`MemoryLimitTooLow`).

`request` raises `WorkerTimeout` (a step overran: SIGALRM, or the parent's kill),
`WorkerMemoryExceeded` (exit code `MEMORY_EXIT_CODE`) or `WorkerCrashed` (any other death);
`announced` then holds the index read after the death.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import mmap
import multiprocessing
import os
import pickle
import signal
import struct
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from workers.errors import (
    WorkerCrashed,
    WorkerError,
    WorkerLost,
    WorkerMemoryExceeded,
    WorkerTimeout,
)
from workers.host import Reply, error_reply, unwrap
from workers.process import CLOSE_GRACE_S, encode, readable, reap, serve_with
from workers.shard_heap import SettlingShard
from workers.shard_host import IDLE, ShardHost
from workers.shard_memory import MemoryLimit

TIMER_SLACK = 0.1
"""How much later than its deadline a member's step may be ended, as a share of the deadline
(see the module docstring): never earlier."""

MAX_TIMER_S = 100_000_000.0
"""The longest a member's interval timer is armed for (about three years): the system call
refuses much longer ones, and a deadline past it (a `step_timeout_s` meant as "never") ends
no step that could be waited for."""

MEMORY_EXIT_CODE = 86
"""The exit code of a shard process that passed its memory limit."""

_SLOT = struct.Struct("<q")
_SHM_DIR = "/dev/shm"


@dataclass(frozen=True)
class ShardOptions:
    """How a shard runs its members' steps (the same for every member of a fund)."""

    step_timeout_s: float = 1.0
    control_timeout_s: float = 30.0
    memory_limit_mb: int | None = None
    keep_statistics: bool = True
    """The members' statistics are updated in the shard (`workers.shard_stats`), not by
    the fund's book."""

    @property
    def replay_timeout_s(self) -> float:
        """A replayed step's deadline: it completed once before (see `HostClient.step`)."""
        return max(self.step_timeout_s, self.control_timeout_s)

    def slice_timeout_s(self, members: int, replay: bool) -> float:
        """The parent's bound on a whole slice: every member's deadline, plus the control
        deadline for the messages around them (the child enforces each member's own)."""
        each = self.replay_timeout_s if replay else self.step_timeout_s
        return self.control_timeout_s + each * members


# ---- the child's side ------------------------------------------------------------------
class ProcessWatch:
    """The child's `Watch`: announcement slot, interval timer, memory check."""

    def __init__(self, path: str, options: ShardOptions) -> None:
        fd = os.open(path, os.O_RDWR)
        try:
            self._slot = mmap.mmap(fd, _SLOT.size)
        finally:
            os.close(fd)
        self._step_s = options.step_timeout_s
        self._replay_s = options.replay_timeout_s
        self._armed_at = -math.inf
        self._armed_for = 0.0
        self._memory = MemoryLimit(options.memory_limit_mb)

    def stepping(self, index: int, replay: bool) -> None:
        _SLOT.pack_into(self._slot, 0, index)
        deadline_s = self._replay_s if replay else self._step_s
        slack_s = deadline_s * TIMER_SLACK
        now = time.monotonic()
        if now - self._armed_at > slack_s or deadline_s != self._armed_for:
            signal.setitimer(signal.ITIMER_REAL, min(deadline_s + slack_s, MAX_TIMER_S))
            self._armed_at, self._armed_for = now, deadline_s

    def stepped(self) -> None:
        memory = self._memory
        if memory.limit_mb is not None and memory.passed() is not None:
            os._exit(MEMORY_EXIT_CODE)

    def unusable(self, members: int) -> str | None:
        return self._memory.unusable(members)

    def idle(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        self._armed_at = -math.inf
        _SLOT.pack_into(self._slot, 0, IDLE)


class _ShardServer:
    def __init__(self, shard: SettlingShard) -> None:
        self.shard = shard
        self.closed = False

    def answer(self, data: bytes) -> Reply:
        try:
            op, args = pickle.loads(data)
        except Exception as exc:
            return error_reply(exc)
        if op == "close":
            self.closed = True
            return ("ok", None)
        if op == "ping":
            return ("ok", os.getpid())
        return self.shard.handle((op, args))


def serve_shard(conn: Connection, announce_path: str, options: ShardOptions) -> None:
    """The shard child's entry point."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    shard = SettlingShard(ShardHost(ProcessWatch(announce_path, options)))
    serve_with(conn, _ShardServer(shard))


# ---- the parent's side -----------------------------------------------------------------
class ShardProcess:
    """One shard child process: start, request, kill, close; `announced` after a death."""

    announces = True

    def __init__(self, name: str, options: ShardOptions) -> None:
        self.name = name
        self.options = options
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._slot_fd: int | None = None
        self._lock = asyncio.Lock()
        self.announced = IDLE
        """The member index the child announced when it died (IDLE: none was stepping)."""

    @property
    def alive(self) -> bool:
        return self._conn is not None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        if self._process is not None:
            raise WorkerError(f"shard {self.name} is already running")
        directory = _SHM_DIR if os.path.isdir(_SHM_DIR) else None
        fd, path = tempfile.mkstemp(prefix="paperfund-shard-", dir=directory)
        os.pwrite(fd, _SLOT.pack(IDLE), 0)
        self._slot_fd, self.announced = fd, IDLE
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=serve_shard,
            args=(child_end, path, self.options),
            name=f"paperfund-shard-{self.name}",
            daemon=True,
        )
        try:
            process.start()
            child_end.close()
            self._process, self._conn = process, parent_end
            await self.request("ping", (), self.options.control_timeout_s)
            await self.request("ready", (), self.options.control_timeout_s)
        except BaseException:
            await self.kill()
            raise
        finally:
            os.unlink(path)  # the child has mapped it (or is gone): the descriptors keep it

    async def request(self, op: str, args: tuple[Any, ...], timeout_s: float) -> Any:
        async with self._lock:
            conn = self._conn
            if conn is None:
                raise WorkerCrashed(f"shard {self.name} is not running")
            try:
                conn.send_bytes(encode((op, args)))
                async with asyncio.timeout(timeout_s):
                    await readable(conn)
                data = conn.recv_bytes()
            except TimeoutError:
                await self._ended(kill=True)
                raise WorkerTimeout(
                    f"shard {self.name}: {op} overran {timeout_s} s; killed"
                ) from None
            except (EOFError, OSError):
                code = await self._ended(kill=False)
                raise _death(self.name, op, code) from None
            except asyncio.CancelledError:
                await self._ended(kill=True)  # its reply would answer the next request
                raise
        return unwrap(pickle.loads(data))

    async def _ended(self, *, kill: bool) -> int | None:
        """Kill (or wait for) the child, read its announcement, reap it; its exit code."""
        if kill:
            self._kill()
        self._drop_pipe()
        code = await self._reap(0.0 if kill else CLOSE_GRACE_S)
        self.announced = self._read_slot()
        self._close_slot()
        return code

    async def kill(self) -> None:
        """SIGKILL the child, if any, and forget it."""
        self._kill()
        self._drop_pipe()
        await self._reap(0.0)
        self._close_slot()

    async def close(self) -> None:
        """Ask the child to exit, kill it if it does not in time; idempotent."""
        if self._conn is not None:
            with contextlib.suppress(WorkerError):
                await self.request("close", (), CLOSE_GRACE_S)
        self._drop_pipe()
        await self._reap(CLOSE_GRACE_S)
        self._close_slot()

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.exitcode is None:
            process.kill()

    def _drop_pipe(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def announcing(self) -> int:
        """The member index the running child announces right now (IDLE: none is stepping)."""
        return self._read_slot()

    def _read_slot(self) -> int:
        if self._slot_fd is None:
            return IDLE
        index: int = _SLOT.unpack(os.pread(self._slot_fd, _SLOT.size, 0))[0]
        return index

    def _close_slot(self) -> None:
        if self._slot_fd is not None:
            os.close(self._slot_fd)
            self._slot_fd = None

    async def _reap(self, grace_s: float) -> int | None:
        """Wait up to `grace_s` for the child to end, then kill it; its exit code, or None
        when it was killed here (so a -9 always means a SIGKILL from outside)."""
        process, self._process = self._process, None
        if process is None:
            return None
        code, killed = await reap(process, grace_s)
        return None if killed else code


def _death(name: str, op: str, code: int | None) -> WorkerError:
    """The error of a child that died during `op` with exit `code`."""
    if code == -signal.SIGALRM:
        return WorkerTimeout(f"shard {name}: a step overran its deadline during {op}; ended")
    if code == -signal.SIGKILL:  # not sent by the supervisor: it reaps what it kills itself
        return WorkerLost(f"shard {name} was killed (SIGKILL) during {op}")
    if code == MEMORY_EXIT_CODE:
        return WorkerMemoryExceeded(f"shard {name} passed its memory limit during {op}")
    return WorkerCrashed(f"shard {name} died during {op} (exit code {code})")
