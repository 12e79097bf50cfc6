"""The `paperfund` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paperfund", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the example fund on the synthetic feed")
    demo.add_argument("--bars", type=int, default=504, help="daily bars to simulate")
    demo.add_argument("--seed", type=int, default=7, help="seed of the synthetic feed")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from daemon.demo import run_demo

        run_demo(bars=args.bars, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
