"""Running the real `paperfund` command on a pseudo-terminal, and reading what a terminal
would show."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.daemon_process import ROOT

ERASE_LINE = "\x1b[2K"
_CONTROL = re.compile(r"\r|\x1b\[2K")


@dataclass
class TerminalRun:
    returncode: int
    stdout: str
    raw: bytes
    """Everything written to the terminal (stderr), byte for byte."""

    @property
    def text(self) -> str:
        return self.raw.decode()


def run_on_terminal(
    args: list[str], env: dict[str, str], cwd: Path = ROOT, timeout_s: float = 300
) -> TerminalRun:
    """`paperfund ARGS` with stderr on a pseudo-terminal (read while it runs, so a full
    terminal buffer never blocks it) and stdout on a pipe."""
    parent, child = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daemon.cli", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=child,
        )
        os.close(child)
        child = -1
        raw = read_until_closed(parent)
        stdout, _ = proc.communicate(timeout=timeout_s)
    finally:
        os.close(parent)
        if child != -1:
            os.close(child)
    return TerminalRun(proc.returncode, stdout.decode(), raw)


def read_until_closed(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every writer of the terminal has closed it
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def screen_lines(text: str) -> list[str]:
    """The lines a terminal shows for `text`: a carriage return moves back to the start of
    the line and later characters overwrite earlier ones; ESC[2K erases the line."""
    lines = []
    for raw_line in text.replace("\r\n", "\n").split("\n"):
        cells: list[str] = []
        column = 0
        position = 0
        for match in [*_CONTROL.finditer(raw_line), None]:
            end = match.start() if match else len(raw_line)
            for char in raw_line[position:end]:
                if column < len(cells):
                    cells[column] = char
                else:
                    cells.append(char)
                column += 1
            if match is None:
                break
            if match.group() == "\r":
                column = 0
            else:
                cells = [" "] * len(cells)
            position = match.end()
        lines.append("".join(cells).rstrip())
    return lines
