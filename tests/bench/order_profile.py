"""Where the order path's time goes: the paperfund run of `tests.bench.order_workload`
profiled, its samples grouped by what the code does (order placement, fill, booking...).

    .venv/bin/py-spy record -r 400 -f raw -o order.spy -- \\
        .venv/bin/python -m tests.bench.order_profile --run 100
    .venv/bin/python -m tests.bench.order_profile --spy order.spy   # the groups and top frames
    .venv/bin/python -m tests.bench.order_profile --cprofile 100    # call counts (cProfile)
    .venv/bin/python -m tests.bench.order_profile --round-trip 100  # us per order round trip

`--run N` runs the framework at N strategies three times (over `--bars` slices) and prints
the unprofiled-equivalent figures (`--loop hand`: the hand-written loop instead, `--loop dry`:
the framework with strategies that place no order; for instruction counts, see RESULTS.md);
`--spy` reads py-spy's raw (collapsed) stacks, keeps the samples inside `execute_bar`, and
reports each group's share of own time and of cumulative time.
`--round-trip N` runs the workload alternately as is and with strategies that take the same
steps but place no order (best of `--repeats` each): the difference per order is what one
order costs from placement to its fill being booked and swept.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
from collections import Counter
from typing import Any

from core import PortfolioAllocator
from core.history import BarData
from core.strategy_ledger import StrategyLedger
from tests.bench.order_workload import (
    FUND_CAPITAL,
    HALF,
    SHARE,
    UpTickTrader,
    orders_placed,
    price_slices,
    run_framework,
    run_hand_written,
    symbol_of,
)

GROUPS = (  # (group, "file:function" prefixes of frames that belong to it), first match wins
    (
        "strategy view",
        ("core/strategy_ledger.py:", "core/history.py:", "core/market.py:", "core/ledger.py:cash"),
    ),
    ("strategy code", ("tests/bench/order_workload.py:handle_data",)),
    (
        "order placement",
        (
            "core/ledger.py:order",
            "core/ledger.py:_held",
            "core/orders.py:new",
            "core/orders.py:pending",
            "core/money.py:",
        ),
    ),
    ("fill checkpoint", ("core/fill_checkpoint.py:",)),
    ("order book upkeep", ("core/orders.py:sweep", "core/orders.py:record", "core/orders.py:is_")),
    (
        "position/cash booking",
        ("core/ledger.py:_book", "core/ledger.py:_update_position", "core/orders.py:apply"),
    ),
    (
        "fill",
        (
            "core/fills.py:",
            "core/ledger.py:_execute",
            "core/ledger.py:execute",
            "core/ledger.py:_fill",
            "core/costs.py:",
            "core/orders.py:remaining",
        ),
    ),
    ("marking", ("core/ledger.py:mark", "core/ledger.py:position", "core/ledger.py:portfolio")),
    ("performance update", ("core/performance.py:", "core/book.py:on_report")),
    ("post-step ledger check", ("core/ledger_guard.py:",)),
    (
        "step and bar loop",
        ("core/step.py:", "core/allocator.py:", "core/book.py:", "core/ledger.py:process_slice"),
    ),
)


BAR_LOOP = "core/allocator.py:execute_bar"


def frame_key(frame: str) -> str:
    """'Class.fn (path/file.py:123)' -> 'path/file.py:fn'."""
    name, _, where = frame.rpartition(" (")
    path = where.rstrip(")").rpartition(":")[0]
    return f"{path}:{name.rpartition('.')[2]}"


def group_of(keys: list[str], i: int) -> str:
    """The group of frame i of a stack; generated code (dataclass and NamedTuple methods,
    `<string>`) counts for its caller."""
    while i > 0 and keys[i].startswith("<"):
        i -= 1
    for group, prefixes in GROUPS:
        if keys[i].startswith(prefixes):
            return group
    return "other: " + keys[i]


Profile = tuple[Counter[str], Counter[str], Counter[str], Counter[str], int]


def read_spy(path: str) -> Profile:
    """Own-time groups, cumulative groups, own and cumulative frames of the samples inside
    execute_bar, and their number."""
    own: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    frames: Counter[str] = Counter()
    total = 0
    with open(path, errors="replace") as lines:
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            keys = [frame_key(f) for f in stack.split(";")]
            if BAR_LOOP not in keys:
                continue
            n = int(count)
            total += n
            inner = keys[keys.index(BAR_LOOP) :]
            own[group_of(inner, len(inner) - 1)] += n
            leaves[inner[-1]] += n
            for group in {group_of(inner, i) for i in range(len(inner))}:
                cumulative[group] += n
            for key in set(inner):
                frames[key] += n
    return own, cumulative, leaves, frames, total


def report_spy(path: str) -> None:
    own, cumulative, leaves, frames, total = read_spy(path)
    print(f"{total} samples in execute_bar")
    print(f"{'group':<28}{'own %':>7}{'cum %':>7}")
    for group, n in own.most_common():
        print(f"{group:<28}{100 * n / total:>7.1f}{100 * cumulative[group] / total:>7.1f}")
    for title, counts in (("own", leaves), ("cumulative", frames)):
        print(f"\n{f'frame ({title})':<52}{'%':>6}")
        for key, n in counts.most_common(20):
            print(f"{key:<52}{100 * n / total:>6.1f}")


def run(n: int, bars: int = 2000, repeats: int = 3, loop: str = "framework") -> None:
    slices = price_slices(bars, 1)
    for _ in range(repeats):
        orders = "no"
        if loop == "hand":
            seconds, _ = run_hand_written(slices, n)
        elif loop == "dry":
            seconds = run_dry(n, slices)
        else:
            seconds, fund = run_framework(slices, n)
            orders = str(orders_placed(fund))
        bars = n * len(slices)
        print(
            f"N={n}: {seconds:.3f} s, {bars / seconds:,.0f} strategy-bars/s, "
            f"{seconds / bars * 1e6:.2f} us per strategy-bar, {orders} orders ({loop})"
        )


class DryTrader(UpTickTrader):
    """`UpTickTrader`'s steps (read the bar, the position and the cash, size the buy) without
    placing the order."""

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        price = data[self.symbol].close
        previous, context.previous = context.previous, price
        if previous is None:
            return
        position = ledger.positions.get(self.symbol)
        if position is None and price > previous:
            context.shares = ledger.cash * HALF // price


def run_dry(n: int, slices: list[Any]) -> float:
    fund = PortfolioAllocator(FUND_CAPITAL, name="dry")
    for i in range(n):
        fund.add_strategy(f"s{i}", DryTrader(symbol_of(i)), SHARE)
    gc.collect()
    start = time.perf_counter()
    for market in slices:
        fund.execute_bar(market.ts, market)
    return time.perf_counter() - start


def round_trip(n: int, repeats: int) -> None:
    slices = price_slices(2000, 1)
    trading, dry = [], []
    orders = 0
    for _ in range(repeats):
        seconds, fund = run_framework(slices, n)
        trading.append(seconds)
        orders = orders_placed(fund)
        dry.append(run_dry(n, slices))
    bars = n * len(slices)
    best, best_dry = min(trading), min(dry)
    print(f"N={n}, {bars} strategy-bars, {orders} orders, best of {repeats}:")
    print(f"  trading          {best / bars * 1e6:.2f} us per strategy-bar")
    print(f"  no orders placed {best_dry / bars * 1e6:.2f} us per strategy-bar")
    print(f"  one order        {(best - best_dry) / orders * 1e6:.2f} us, placement to booking")


def profile(n: int) -> None:
    slices = price_slices(2000, 1)
    profiler = cProfile.Profile()
    profiler.runcall(run_framework, slices, n)
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", type=int, default=0, help="N: run the framework (profile me)")
    parser.add_argument("--spy", default="", help="py-spy raw output to group")
    parser.add_argument("--cprofile", type=int, default=0, help="N: cProfile the framework run")
    parser.add_argument("--round-trip", type=int, default=0, help="N: us per order round trip")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bars", type=int, default=2000, help="slices of --run")
    parser.add_argument("--loop", choices=("framework", "hand", "dry"), default="framework")
    args = parser.parse_args()
    if args.run:
        run(args.run, args.bars, loop=args.loop)
    if args.spy:
        report_spy(args.spy)
    if args.cprofile:
        profile(args.cprofile)
    if args.round_trip:
        round_trip(args.round_trip, args.repeats)


if __name__ == "__main__":
    main()
