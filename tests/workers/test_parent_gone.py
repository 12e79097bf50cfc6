"""A worker child whose parent is gone exits quietly: whether the parent left a reply unread
(the child's next read is reset) or left before the reply was written (the child's write
meets a broken pipe), the child exits 0 and writes nothing to the log stream it shares with
the daemon."""

from __future__ import annotations

import multiprocessing
import pickle

import pytest

from workers.host import PICKLE_PROTOCOL
from workers.process import serve

WAIT_S = 30.0
MESSAGE = pickle.dumps(("snapshot", ()), protocol=PICKLE_PROTOCOL)  # answered: no host yet


def _child_exit_code(start_first: bool) -> int | None:
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe(duplex=True)
    child = context.Process(target=serve, args=(child_end,), daemon=True)
    if start_first:
        child.start()
        parent_end.send_bytes(MESSAGE)
        assert parent_end.poll(WAIT_S)  # the reply is there: leave it unread
    else:
        parent_end.send_bytes(MESSAGE)
        parent_end.close()  # gone before the child reads the message and answers it
        child.start()
    parent_end.close()
    child_end.close()
    child.join(WAIT_S)
    return child.exitcode


def test_a_reply_left_unread_ends_the_child_quietly(capfd: pytest.CaptureFixture[str]) -> None:
    assert _child_exit_code(True) == 0
    assert capfd.readouterr().err == ""  # no ConnectionResetError traceback


def test_a_parent_gone_mid_request_ends_the_child_quietly(
    capfd: pytest.CaptureFixture[str],
) -> None:
    assert _child_exit_code(False) == 0
    assert capfd.readouterr().err == ""  # no BrokenPipeError traceback
