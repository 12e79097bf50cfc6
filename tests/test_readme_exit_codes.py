"""The README's exit code table lists exactly the codes the commands use."""

from __future__ import annotations

import re
from types import ModuleType

from daemon import app, cli, exits, report
from daemon.ctl import commands as ctl
from tests.support.daemon_process import ROOT


def exit_constants(*modules: ModuleType) -> dict[str, int]:
    """Every module-level `EXIT_*` or `*_EXIT` integer of `modules`."""
    return {
        f"{module.__name__}.{name}": value
        for module in modules
        for name, value in vars(module).items()
        if (name.startswith("EXIT_") or name.endswith("_EXIT")) and isinstance(value, int)
    }


def readme_table() -> dict[int, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    return {
        int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)
    }


def test_the_table_lists_every_code_of_the_commands_and_no_other() -> None:
    used = exit_constants(cli, app, report, exits)
    assert set(readme_table()) == {0, *used.values()}, used


def test_the_table_says_what_each_code_means() -> None:
    table = readme_table()
    assert "invalid settings" in table[cli.EXIT_CONFIG]
    assert "HTTP port in use" in table[cli.EXIT_CONFIG]
    assert "locked" in table[cli.EXIT_LOCKED]
    assert "resumed" in table[cli.EXIT_RECOVERY]
    assert "storage" in table[cli.EXIT_RUNTIME]
    assert "second SIGTERM or Ctrl-C" in table[app.SECOND_SIGNAL_EXIT]
    assert "shutdown_grace_s" in table[app.GRACE_EXCEEDED_EXIT]
    assert "left early" in table[exits.EXIT_BROKEN_PIPE]


def test_the_ctl_codes_are_listed_beside_it() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    line = re.search(r"`paperfund ctl` has its own: (.+)\.", text)
    assert line is not None
    listed = {int(code): meaning for code, meaning in re.findall(r"(\d+) ([a-z ]+)", line[1])}
    assert listed == {
        ctl.EXIT_APPLIED: "applied",
        ctl.EXIT_REJECTED: "rejected",
        ctl.EXIT_USAGE: "bad usage",
        ctl.EXIT_NO_ANSWER: "no answer",
    }
