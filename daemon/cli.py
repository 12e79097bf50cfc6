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
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

EXIT_CONFIG = 2
EXIT_RUNTIME = 1
EXIT_LOCKED = 3
EXIT_RECOVERY = 4
EXIT_INTERRUPTED = 130  # as a shell reports a process ended by SIGINT

LOCKED = "another paperfund daemon is running this fund: its state directory is locked"

if TYPE_CHECKING:
    from config import FundSettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperfund", description="paperfund: multi-strategy paper trading"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a fund: recover its state, then stream its feed")
    run.add_argument("--config", type=Path, default=None, help="YAML or TOML settings file")
    check = commands.add_parser("check-config", help="validate a settings file and exit")
    check.add_argument("config", type=Path)
    demo = commands.add_parser("demo", help="run the example fund on the synthetic feed")
    demo.add_argument("--bars", type=int, default=504, help="daily bars to simulate")
    demo.add_argument("--seed", type=int, default=7, help="seed of the synthetic feed")
    report = commands.add_parser("report", help="summary, charts and an HTML page of a fund")
    report.add_argument("--state", type=Path, required=True, help="the fund's state directory")
    report.add_argument(
        "--out", type=Path, default=None, help="where to write the files (default: --state)"
    )
    report.add_argument("--name", default=None, help="fund name (default: the state dir's)")
    commands.add_parser("ctl", help="command a running fund over Redis or HTTP", add_help=False)
    cut = commands.add_parser(
        "cut-journal", help="delete a journal record that fails on replay, and all after it"
    )
    cut.add_argument("--config", type=Path, default=None, help="YAML or TOML settings file")
    cut.add_argument("--at", type=int, required=True, help="the record's seq, as reported")
    cut.add_argument("--yes", action="store_true", help="delete (default: only report)")
    return parser


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
    from config import ConfigError
    from daemon import logs
    from daemon.app import run_fund
    from daemon.control.listen import close
    from daemon.errors import RecoveryError
    from daemon.feeds import FeedError
    from daemon.persistence import StoreError, StoreLocked
    from daemon.persistence.directory import locked_elsewhere
    from daemon.preflight import bind_http, check_state_dir
    from workers.errors import StrategyLoadError

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
    except FeedError as exc:  # a replay file changed since it was checked
        log.error("the feed cannot go on: fix its input", error=str(exc))
        return EXIT_CONFIG
    except StoreLocked:
        log.error(LOCKED, state_dir=str(settings.state.dir))
        return EXIT_LOCKED
    except RecoveryError as exc:
        log.error("cannot resume the fund from its state directory", error=str(exc))
        return EXIT_RECOVERY
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
