"""The `paperfund ctl` command line: arguments to a command document.

    paperfund ctl [--config FILE] [--http URL | --redis URL] [--fund NAME] [--token T]
                  [--signing-key-file F] [--timeout S] [--json]  ACTION ...

    pause ID [--reason TEXT]      resume ID
    add ID --catalog NAME --allocation FRACTION
    remove ID [--keep-positions]
    rebalance --weights a=0.4,b=0.3 [--reason TEXT] | rebalance --configured
    snapshot                      status
    watch [--count N]             follow the replies (Redis) or the status (HTTP)

Exit codes: 0 applied, 1 rejected, 2 usage or configuration error, 3 no answer (timeout,
unreachable).
"""

from __future__ import annotations

import argparse
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

EXIT_APPLIED, EXIT_REJECTED, EXIT_USAGE, EXIT_NO_ANSWER = 0, 1, 2, 3


class UsageError(Exception):
    """Bad arguments: exit code 2 with the message."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paperfund ctl", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, help="the fund's settings (defaults below)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--http", help="the daemon's HTTP API, e.g. http://127.0.0.1:8377")
    where.add_argument("--redis", help="Redis URL of the fund's command channel")
    parser.add_argument("--fund", help="fund name (Redis stream names)")
    parser.add_argument("--token", help="bearer token of the HTTP API")
    parser.add_argument("--signing-key-file", type=Path, help="HMAC key to sign commands")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")
    parser.add_argument("--json", action="store_true", help="print replies as JSON")
    actions = parser.add_subparsers(dest="action", required=True)
    pause = actions.add_parser("pause", help="pause a strategy")
    pause.add_argument("strategy_id")
    pause.add_argument("--reason", default=None)
    resume = actions.add_parser("resume", help="resume a paused strategy")
    resume.add_argument("strategy_id")
    add = actions.add_parser("add", help="start a catalog strategy with an allocation")
    add.add_argument("strategy_id")
    add.add_argument("--catalog", required=True)
    add.add_argument("--allocation", required=True)
    remove = actions.add_parser("remove", help="remove a strategy (liquidating by default)")
    remove.add_argument("strategy_id")
    remove.add_argument("--keep-positions", action="store_true", help="move, do not sell")
    rebalance = actions.add_parser("rebalance", help="rebalance to weights or the algorithm")
    how = rebalance.add_mutually_exclusive_group(required=True)
    how.add_argument("--weights", help="id=fraction,... e.g. a=0.4,b=0.3")
    how.add_argument("--configured", action="store_true", help="run the allocator now")
    rebalance.add_argument("--reason", default=None)
    actions.add_parser("snapshot", help="write a snapshot now")
    actions.add_parser("status", help="the fund's status")
    watch = actions.add_parser("watch", help="follow replies (Redis) or status (HTTP)")
    watch.add_argument("--count", type=int, default=None, help="stop after N lines")
    watch.add_argument("--interval", type=float, default=2.0, help="HTTP polling seconds")
    return parser


def command_document(args: argparse.Namespace) -> dict[str, Any]:
    """The command of `args` (a fresh command id each time)."""
    document: dict[str, Any] = {"type": args.action, "command_id": f"ctl-{uuid.uuid4().hex}"}
    if args.action in {"pause", "resume", "add", "remove"}:
        document["strategy_id"] = args.strategy_id
    if args.action == "pause" and args.reason:
        document["reason"] = args.reason
    elif args.action == "add":
        document["catalog"] = args.catalog
        document["allocation"] = _fraction(args.allocation, "--allocation")
    elif args.action == "remove":
        document["liquidate"] = not args.keep_positions
    elif args.action == "rebalance":
        if args.configured:
            document["algorithm"] = "configured"
        else:
            document["weights"] = parse_weights(args.weights)
        if args.reason:
            document["reason"] = args.reason
    return document


def parse_weights(text: str) -> dict[str, str]:
    """`a=0.4,b=0.3` -> {"a": "0.4", "b": "0.3"} (exact decimal strings)."""
    weights: dict[str, str] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--weights: expected id=fraction, got {part.strip()!r}")
        if name.strip() in weights:
            raise UsageError(f"--weights: {name.strip()!r} given twice")
        weights[name.strip()] = _fraction(value, f"--weights {name.strip()}")
    return weights


def _fraction(text: str, what: str) -> str:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise UsageError(f"{what}: not a number: {text!r}") from None
    if not value.is_finite():
        raise UsageError(f"{what}: not a finite number: {text!r}")
    return str(value)
