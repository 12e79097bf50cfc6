"""The `paperfund` command line.

    paperfund run [--config FILE]        run a fund (default: the embedded demo config)
    paperfund check-config FILE          validate a configuration without running it
    paperfund demo                       the example fund through the in-process allocator
    paperfund report --state DIR [--out DIR] [--name NAME]
                                         summary, charts and an HTML page of a fund's state
    paperfund ctl ACTION ...             command a running fund (see `paperfund ctl -h`)
    paperfund cut-journal [--config FILE] --at SEQ [--yes]
                                         delete journal record SEQ and every record after
                                         it (without --yes: only say what would be deleted)

Exit codes (the README lists them too): 0 success, 1 the fund cannot run (a storage
failure), 2 invalid configuration or usage (a setting, a strategy that does not load, a
replay file that cannot be replayed, the HTTP port in use), or no fund state to report on,
3 another daemon runs this fund, 4 the state directory cannot be resumed from (a journal
record that fails on replay, a damaged or newer database): restarting cannot help, an
operator must act; 124 a stop overran `deadlines.shutdown_grace_s`, 130 a second stop
signal (Ctrl-C twice) ended the daemon at once, or Ctrl-C came during the checks.
Ctrl-C in `demo`, `report` or `ctl` exits 130 and a reader closing the output early (`| head`)
141, quietly (`daemon.exits`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.exits import EXIT_INTERRUPTED, quiet_exits

EXIT_CONFIG = 2
EXIT_RUNTIME = 1
EXIT_LOCKED = 3
EXIT_RECOVERY = 4

LOCKED = "another paperfund daemon is running this fund: its state directory is locked"

if TYPE_CHECKING:
    from config import FundSettings


DEFAULT_CONFIG_HELP = "config/examples/demo.yaml"
"""The embedded default config (`config.loader.DEFAULT_CONFIG`; not imported to parse)."""
DEFAULT_STATE_DIR_HELP = "./state/demo"
"""Its `state.dir` (a test checks both against the real ones)."""

RUN_DESCRIPTION = f"""\
Run a fund: build it from its settings, resume from its state directory (state.dir, created
if missing), then stream its feed until the feed ends or SIGTERM/Ctrl-C stops it (the slice
finishes and a snapshot is written; a second signal exits at once). Settings come from
--config, with PAPERFUND_* environment variables on top (e.g. PAPERFUND_STATE__DIR=...).
Without --config: the demo fund of {DEFAULT_CONFIG_HELP} (shipped with paperfund), its
state in {DEFAULT_STATE_DIR_HELP} under the working directory."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperfund",
        description="paperfund: multi-strategy paper trading",
        epilog="`paperfund COMMAND --help` describes a command.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run a fund: recover its state, then stream its feed",
        description=RUN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"YAML or TOML settings file (default: {DEFAULT_CONFIG_HELP})",
    )
    check = commands.add_parser(
        "check-config",
        help="validate a settings file and exit",
        description="Validate a settings file (and import its strategy classes); exit 0 when"
        " it is valid, 2 naming every problem when not.",
    )
    check.add_argument("config", type=Path, metavar="FILE", help="YAML or TOML settings file")
    demo = commands.add_parser(
        "demo",
        help="run the example fund on the synthetic feed",
        description="Run three example strategies with monthly risk-parity rebalancing on a"
        " seeded synthetic feed, in this process, and print the summary. Nothing is kept.",
    )
    demo.add_argument(
        "--bars", type=_positive_int, default=504, help="daily bars to simulate (default: 504)"
    )
    demo.add_argument("--seed", type=int, default=7, help="seed of the synthetic feed (default: 7)")
    _report_parser(commands)
    commands.add_parser("ctl", help="command a running fund over Redis or HTTP", add_help=False)
    _cut_parser(commands)
    return parser


def _report_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        help="summary, charts and an HTML page of a fund",
        description="Print a stopped fund's summary and write its charts and an HTML page,"
        " from the newest snapshot in its state directory (a running daemon holds the"
        " directory's lock).",
    )
    report.add_argument(
        "--state", type=Path, required=True, metavar="DIR", help="the fund's state directory"
    )
    report.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write the files (default: --state)"
    )
    report.add_argument(
        "--name", metavar="NAME", help="the fund's name (default: the one its snapshot holds)"
    )


def _cut_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cut = commands.add_parser(
        "cut-journal",
        help="delete a journal record that fails on replay, and all after it",
        description="Delete journal record SEQ (one that fails on replay, as reported at"
        " startup) and every record after it, so that the fund can resume from the one"
        " before. Without --yes, only say what would be deleted.",
    )
    cut.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"the fund's settings, for its state.dir (default: {DEFAULT_CONFIG_HELP})",
    )
    cut.add_argument(
        "--at", type=int, required=True, metavar="SEQ", help="the record's seq, as reported"
    )
    cut.add_argument("--yes", action="store_true", help="delete (default: only report)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}")
    return value


@quiet_exits
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["ctl"]:
        from daemon.ctl.main import main as ctl_main

        return ctl_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from daemon.demo import run_demo

        run_demo(bars=args.bars, seed=args.seed)
        return 0
    if args.command == "report":
        from daemon.report import run_report

        return run_report(args.state, args.out, name=args.name)
    from config import DEFAULT_CONFIG, ConfigError, load_settings

    source = str(args.config or DEFAULT_CONFIG)
    try:
        settings = load_settings(args.config)
        if args.command != "cut-journal":  # validate, then create state
            from daemon.preflight import check_fund

            check_fund(settings, source)
    except ConfigError as exc:
        print(f"paperfund: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:  # Ctrl-C while the files are read: nothing was started
        print("paperfund: interrupted before anything started", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.command == "check-config":
        print(f"{args.config}: ok ({len(settings.strategies)} strategies)")
        return 0
    if args.command == "cut-journal":
        return _cut_journal(settings.state.dir, args.at, args.yes)
    return _run(settings, source)


def _run(settings: FundSettings, source: str) -> int:
    import asyncio

    from config import ConfigError
    from daemon import logs
    from daemon.app import run_fund
    from daemon.control.listen import close
    from daemon.errors import RecoveryError
    from daemon.feeds import FeedError
    from daemon.persistence import StoreError, StoreLocked
    from daemon.persistence.directory import locked_elsewhere
    from daemon.preflight import bind_http, check_state_dir
    from workers.errors import MemoryLimitTooLow, StrategyLoadError

    logs.configure(settings.logging.format, settings.logging.level)
    log = logs.get("paperfund.daemon")
    if locked_elsewhere(settings.state.dir):  # before its port, which it holds too
        log.error(LOCKED, state_dir=str(settings.state.dir))
        return EXIT_LOCKED
    try:
        check_state_dir(settings, source)
        sockets = bind_http(settings, source)
    except ConfigError as exc:
        print(f"paperfund: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        asyncio.run(run_fund(settings, sockets=sockets))
    except StrategyLoadError as exc:  # its `initialize` failed (building it was checked)
        log.error("a strategy cannot start: fix its code or its params", error=str(exc))
        return EXIT_CONFIG
    except MemoryLimitTooLow as exc:  # a shard is past its limit with no strategy to blame
        log.error("the shards' memory limit is too low", error=str(exc))
        return EXIT_CONFIG
    except FeedError as exc:  # a replay file changed since it was checked
        log.error("the feed cannot go on: fix its input", error=str(exc))
        return EXIT_CONFIG
    except StoreLocked:
        log.error(LOCKED, state_dir=str(settings.state.dir))
        return EXIT_LOCKED
    except RecoveryError as exc:
        log.error("cannot resume the fund from its state directory", error=str(exc))
        return EXIT_RECOVERY
    except BrokenPipeError:
        raise  # the summary's reader left early (`| head`): not the fund's failure
    except (OSError, StoreError) as exc:  # the disk is full...
        log.error("cannot run the fund", error=str(exc))
        return EXIT_RUNTIME
    finally:
        close(sockets)
    return 0


def _cut_journal(state_dir: Path, seq: int, confirmed: bool) -> int:
    from daemon.persistence import StateStore, StoreError, StoreLocked, StoreUsageError
    from daemon.persistence.database import DB_FILENAME

    if not (state_dir / DB_FILENAME).is_file():
        print(
            f"paperfund: {state_dir} holds no fund state ({DB_FILENAME} is missing)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        with StateStore.open(state_dir) as store:
            cut = store.cut(seq, dry_run=not confirmed)
    except StoreLocked:
        print(f"paperfund: {state_dir} is in use by a running daemon", file=sys.stderr)
        return EXIT_LOCKED
    except StoreUsageError as exc:
        print(f"paperfund: cannot cut the journal: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StoreError as exc:
        print(f"paperfund: {exc}", file=sys.stderr)
        return EXIT_RECOVERY
    if confirmed:
        print(f"deleted {cut.summary()}; the fund resumes from record {seq - 1}")
    else:
        print(f"would delete {cut.summary()}; run again with --yes to delete them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
