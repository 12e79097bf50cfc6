"""Ordinary ends of a `paperfund` command that are not errors, and their exit codes.

- Ctrl-C (SIGINT outside the daemon's own handlers, e.g. `paperfund ctl watch`, whose only
  way out it is) exits 130, as a shell reports a process ended by SIGINT, without a
  traceback.
- A reader that closes the pipe early (`paperfund demo | head -3`) ends the command with exit
  141, as a shell reports a process ended by SIGPIPE (`seq 1000000 | head -3` under
  `set -o pipefail`), without a traceback: the reader chose to stop, nothing failed. The
  recipe is the one of the Python `signal` documentation: standard output is pointed at
  /dev/null, so that the interpreter's last flush at exit does not fail again.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

P = ParamSpec("P")


def quiet_exits(main: Callable[P, int]) -> Callable[P, int]:
    """`main`, with Ctrl-C and a closed standard output ending it quietly (see above)."""

    @functools.wraps(main)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            code = main(*args, **kwargs)
            sys.stdout.flush()  # a closed pipe shows here, not in the flush at exit
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        return code

    return run


def _silence_stdout() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a non-file (tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
