"""What `paperfund run` tells a person at a terminal once the fund is ready: where its control
plane listens, how to reach it from another terminal, how to stop it. Written once, to a
terminal only; logs and pipes get the `http api listening` event instead."""

from __future__ import annotations

from typing import TextIO

from daemon import logs


def greeting(fund: str, http_url: str | None, command_stream: str | None) -> str:
    lines = [f"paperfund: fund {fund} is running."]
    if http_url is not None:
        lines.append(f"  HTTP API: {http_url}  (try: curl {http_url}/v1/status)")
        lines.append(f"  from another terminal: paperfund ctl --http {http_url} status")
    if command_stream is not None:
        lines.append(f"  Redis commands: stream {command_stream}")
    lines.append("  Ctrl-C stops it: the current slice is finished and a snapshot written.")
    return "\n".join(lines) + "\n"


def greet(stream: TextIO, fund: str, http_url: str | None, command_stream: str | None) -> None:
    """Write the greeting to `stream` when it is a terminal."""
    if not stream.isatty():
        return
    with logs.TERMINAL_LOCK:
        stream.write(greeting(fund, http_url, command_stream))
        stream.flush()
