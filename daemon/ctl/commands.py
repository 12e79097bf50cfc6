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
unreachable), 130 interrupted (Ctrl-C; `daemon.exits`).
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


DESCRIPTION = """\
Send one command to a running fund and print its replies (watch: follow them). The fund is
reached over its HTTP API, or over its Redis command channel when the settings (or --redis)
name one; the address, fund name, token and signing key come from the fund's settings
(--config, with PAPERFUND_* variables on top) unless given here."""

EPILOG = """\
exit codes: 0 applied, 1 rejected, 2 usage or configuration error, 3 no answer (timeout,
unreachable), 130 interrupted (Ctrl-C, the way to end watch)"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperfund ctl",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_options(parser)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    pause = actions.add_parser(
        "pause", help="pause a strategy: it stops trading, keeps its capital"
    )
    pause.add_argument("strategy_id", metavar="STRATEGY_ID")
    pause.add_argument("--reason", metavar="TEXT", help="why (shown in its status)")
    resume = actions.add_parser("resume", help="resume a paused strategy")
    resume.add_argument("strategy_id", metavar="STRATEGY_ID")
    add = actions.add_parser("add", help="start a catalog strategy with an allocation")
    add.add_argument("strategy_id", metavar="STRATEGY_ID", help="the new strategy's id")
    add.add_argument(
        "--catalog", metavar="NAME", required=True, help="a configured strategy or catalog entry"
    )
    add.add_argument(
        "--allocation", metavar="FRACTION", required=True, help="of the fund, e.g. 0.05"
    )
    remove = actions.add_parser("remove", help="remove a strategy (liquidating by default)")
    remove.add_argument("strategy_id", metavar="STRATEGY_ID")
    remove.add_argument(
        "--keep-positions", action="store_true", help="move its positions to the reserve"
    )
    rebalance = actions.add_parser("rebalance", help="rebalance to weights or the allocator")
    how = rebalance.add_mutually_exclusive_group(required=True)
    how.add_argument("--weights", metavar="ID=FRACTION,...", help="e.g. trend=0.4,momentum=0.3")
    how.add_argument("--configured", action="store_true", help="run the configured allocator")
    rebalance.add_argument("--reason", metavar="TEXT", help="recorded with the rebalancing")
    actions.add_parser("snapshot", help="write a snapshot of the fund's state now")
    actions.add_parser("status", help="print the fund's status")
    watch = actions.add_parser(
        "watch", help="follow the replies (Redis) or the status (HTTP) until Ctrl-C"
    )
    watch.add_argument("--count", type=int, metavar="N", help="stop after N lines")
    watch.add_argument(
        "--interval", type=float, default=2.0, metavar="SECONDS", help="HTTP polling (default: 2)"
    )
    return parser


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="the fund's settings (default: the demo's)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--http", metavar="URL", help="the HTTP API (default: control.http, 127.0.0.1:8377)"
    )
    where.add_argument(
        "--redis", metavar="URL", help="Redis of the command channel (default: control.redis)"
    )
    parser.add_argument("--fund", metavar="NAME", help="fund name, for Redis (default: fund.name)")
    parser.add_argument(
        "--token", metavar="TOKEN", help="bearer token of the HTTP API (default: control.http)"
    )
    parser.add_argument(
        "--signing-key-file",
        type=Path,
        metavar="FILE",
        help="HMAC key to sign commands with (default: control.signing_key)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="wait for the outcome this long (default: 30)",
    )
    parser.add_argument("--json", action="store_true", help="print each reply as a JSON line")


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
