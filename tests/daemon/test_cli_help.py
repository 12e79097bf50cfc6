"""Every `--help` of the `paperfund` command reads as documentation: each option says what
it is, `run --help` names the default config and state directory, `ctl --help` its exit
codes."""

from __future__ import annotations

import argparse

import pytest

from config.loader import DEFAULT_CONFIG, load_settings
from daemon.cli import build_parser
from daemon.ctl.commands import build_parser as build_ctl_parser
from tests.support.daemon_process import ROOT, cli


def parsers() -> dict[str, argparse.ArgumentParser]:
    """Every parser by its command line, the subcommands' included."""
    found: dict[str, argparse.ArgumentParser] = {}
    pending = [("paperfund", build_parser()), ("paperfund ctl", build_ctl_parser())]
    while pending:
        name, parser = pending.pop()
        found[name] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending += [(f"{name} {sub}", p) for sub, p in action.choices.items()]
    return found


@pytest.mark.parametrize("name", sorted(parsers()))
def test_every_option_says_what_it_is(name: str) -> None:
    parser = parsers()[name]
    for action in parser._actions:
        if action.option_strings:
            assert action.help, (name, action.option_strings)
    text = parser.format_help()
    assert "None" not in text and "==SUPPRESS==" not in text


def test_ctl_help_describes_the_command_and_its_exit_codes() -> None:
    text = build_ctl_parser().format_help()
    assert "command document" not in text  # no leftover of the module's docstring
    assert text.split("\n\n")[1].startswith("Send one command to a running fund")
    assert "exit codes: 0 applied, 1 rejected, 2 usage" in text
    assert "130 interrupted" in text


def test_run_help_names_the_default_config_and_state_directory() -> None:
    result = cli("run", "--help", env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    config = DEFAULT_CONFIG.relative_to(ROOT)
    state_dir = load_settings(None, env={}).state.dir
    assert f"the demo fund of {config} (shipped with paperfund), its state in ./{state_dir}" in (
        text
    )
    assert f"--config FILE YAML or TOML settings file (default: {config})" in text
