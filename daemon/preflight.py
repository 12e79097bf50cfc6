"""What `paperfund check-config` and `paperfund run` check before a fund starts: validate
first, then create state.

`check_fund(settings, source)` raises one `ConfigError` with every problem found:

- each strategy's class imports, its params bind to its constructor and it builds (a
  configured strategy is built as the run would build it; a catalog entry is imported and
  its params bound). A strategy that runs in a `process` worker or a `shard` is checked in
  a child process, so that only child processes import its code, as in the run;
- each file of a replay feed reads through as the feed will read it (`daemon.feeds.checks`);
- a ccxt feed's exchange id, symbols and timeframe exist in ccxt's metadata (ccxt installed:
  the `paperfund[ccxt]` extra), without a request to the exchange (`daemon.feeds.ccxt_meta`);
- the shard backend can be used: `workers.backend: ray` needs Ray installed (the
  `paperfund[ray]` extra; reaching the cluster is the run's to find out).

`run` then checks that it can create its state directory (`check_state_dir`) and opens the
HTTP API's listening sockets (`bind_http`), so that an unwritable `state.dir` or a port in
use is reported, naming the setting, before the state directory is created. Problems name
strategies by id and files by path.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
from collections.abc import Sequence
from multiprocessing.connection import Connection

from config import ConfigError, FundSettings, Problem, feed_options
from config.strategies import StrategyCheck, run_checks, strategy_checks
from daemon.control import listen
from daemon.feeds.ccxt_meta import check_ccxt
from daemon.feeds.checks import check_replay_files
from daemon.shard_backends import missing_ray

ISOLATED = ("process", "shard")
"""Worker kinds whose strategy code only child processes import."""


def check_fund(settings: FundSettings, source: str | None = None) -> None:
    """Raise `ConfigError` listing every strategy and feed file that would stop the run."""
    problems = backend_problems(settings) + strategy_problems(settings) + feed_problems(settings)
    if problems:
        raise ConfigError(problems, source)


def check_state_dir(settings: FundSettings, source: str | None = None) -> None:
    """Raise `ConfigError` naming `state.dir` when the run could not create or write it
    (`run` only: the directory belongs to the machine the fund runs on)."""
    path = settings.state.dir
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    reason = None
    if existing == path and not path.is_dir():
        reason = f"{path} exists and is not a directory"
    elif not existing.is_dir():
        reason = f"cannot create {path}: {existing} is not a directory"
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = f"cannot create or write {path}: {existing} is not writable"
    if reason is not None:
        hint = "; choose another state.dir (or PAPERFUND_STATE__DIR)"
        raise ConfigError([Problem("state.dir", reason + hint)], source)


def bind_http(settings: FundSettings, source: str | None = None) -> list[socket.socket]:
    """The HTTP API's listening sockets (none when it is off); raises `ConfigError` naming
    `control.http.port` (or `.host`) when they cannot be opened."""
    http = settings.control.http
    if not http.enabled:
        return []
    try:
        return listen.bind(http.host, http.port)
    except listen.ListenError as exc:
        raise ConfigError([Problem(exc.setting, exc.reason)], source) from None


def backend_problems(settings: FundSettings) -> list[Problem]:
    reason = missing_ray(settings.workers)
    return [] if reason is None else [Problem("workers.backend", reason)]


def feed_problems(settings: FundSettings) -> list[Problem]:
    kind, options = feed_options(settings)
    if kind == "replay":
        found = check_replay_files(options)
    elif kind == "ccxt":  # from ccxt's metadata: no request is made
        found = check_ccxt(options["exchange"], options["symbols"], options["timeframe"])
    else:
        return []  # the settings schema checks synthetic and Redis feeds whole
    return [Problem(setting, reason) for setting, reason in found]


def strategy_problems(settings: FundSettings) -> list[Problem]:
    checks = strategy_checks(settings, build=True)
    here = [check for check in checks if check.worker not in ISOLATED]
    apart = [check for check in checks if check.worker in ISOLATED]
    problems = run_checks(here)
    if apart:
        problems += _checked_in_child(apart, settings.deadlines.control_timeout_s)
    order = {check.path: i for i, check in enumerate(checks)}
    return sorted(problems, key=lambda p: order.get(p.path.rsplit(".", 1)[0], len(order)))


def _checked_in_child(checks: Sequence[StrategyCheck], timeout_s: float) -> list[Problem]:
    """`run_checks(checks)` in a child process, as a `process` worker would import them."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(list(checks), send), daemon=True)
    child.start()
    send.close()
    try:
        if receive.poll(timeout_s):
            found: list[Problem] = receive.recv()
            return found
        reason = f"importing and building it took longer than {timeout_s:g} s"
    except EOFError:
        child.join()
        reason = f"the process importing and building it ended (exit code {child.exitcode})"
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join()
    return [Problem(f"{check.path}.class", reason) for check in checks]


def _child(checks: list[StrategyCheck], send: Connection) -> None:
    with send:
        send.send(run_checks(checks))
