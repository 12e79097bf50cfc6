"""`paperfund ctl`: parse, pick the transport from the arguments or the fund's settings,
send, print each reply, exit with the outcome (see `daemon.ctl.commands` for the usage)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from daemon.ctl.commands import (
    EXIT_APPLIED,
    EXIT_NO_ANSWER,
    EXIT_REJECTED,
    EXIT_USAGE,
    UsageError,
    build_parser,
    command_document,
)
from daemon.ctl.transport import HttpTransport, NoAnswer, RedisTransport


def main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)
    try:
        transport = _transport(args)
        if args.action == "watch":
            return _watch(transport, args, out)
        replies = transport.send(command_document(args))
    except UsageError as exc:
        print(f"paperfund ctl: {exc}", file=err)
        return EXIT_USAGE
    except NoAnswer as exc:
        print(f"paperfund ctl: no answer: {exc}", file=err)
        return EXIT_NO_ANSWER
    for reply in replies:
        print(_line(reply, args.json), file=out, flush=True)
    final = replies[-1] if replies else {}
    return EXIT_APPLIED if final.get("status") == "applied" else EXIT_REJECTED


def _transport(args: argparse.Namespace) -> RedisTransport | HttpTransport:
    from config import ConfigError, load_settings

    try:
        settings = load_settings(args.config, buildable=False)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    control = settings.control
    key = control.key()
    if args.signing_key_file is not None:
        try:
            key = args.signing_key_file.read_text().strip().encode()
        except OSError as exc:
            raise UsageError(f"--signing-key-file: {exc.strerror}") from None
    fund = args.fund or settings.fund.name
    redis_url = args.redis or (None if args.http else control.redis.redis_url())
    if redis_url:
        return RedisTransport(redis_url, fund, key, args.timeout)
    if args.http:
        base = args.http
    else:
        host = control.http.host
        host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
        base = f"http://{host}:{control.http.port}"
    return HttpTransport(base, args.token or control.http.bearer_token(), key, args.timeout)


def _watch(transport: RedisTransport | HttpTransport, args: argparse.Namespace, out: TextIO) -> int:
    lines = 0
    while args.count is None or lines < args.count:
        if isinstance(transport, RedisTransport):
            for reply in transport.watch():
                print(_line(reply, args.json), file=out, flush=True)
                lines += 1
                if args.count is not None and lines >= args.count:
                    return EXIT_APPLIED
        else:
            print(json.dumps(transport.get("/v1/status"), sort_keys=True), file=out, flush=True)
            lines += 1
            if args.count is None or lines < args.count:
                time.sleep(args.interval)  # polling interval of a display, not synchronisation
    return EXIT_APPLIED


def _line(reply: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return json.dumps(reply, sort_keys=True)
    where = "" if reply.get("slice_index") is None else f" at slice {reply['slice_index']}"
    dup = " (duplicate: first outcome)" if reply.get("duplicate") else ""
    text = f"{reply.get('status')} {reply.get('command_id') or '-'}{where}{dup}"
    detail = reply.get("detail")
    if detail:
        text += f": {detail}"
    if reply.get("data") is not None:
        text += "\n" + json.dumps(reply["data"], indent=2, sort_keys=True)
    return text
