"""Core throughput: strategy-bar updates per second through `PortfolioAllocator.execute_bar`,
against a hand-written minimal loop (same ledger, same statistics, no framework) measured in
the same run, for N = 1, 10, 100, 1000 SMA-crossover strategies over the shipped daily data.

    .venv/bin/python -m tests.bench.core_throughput [--sizes 1,10,100,1000] [--bars N]
    .venv/bin/python -m tests.bench.core_throughput --guard-cost 100 [--bars N] [--repeats 7]

`--guard-cost N` measures what the post-step ledger check (`core.ledger_guard`) costs per
strategy-bar: the framework run for N strategies, alternately with the check and with it
replaced by a no-op, best of `--repeats` runs each (alternating cancels out drift of a
shared machine's load).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import platform
import time
from collections import deque
from collections.abc import Iterator
from decimal import Decimal

from core import Ledger, PortfolioAllocator, StrategyPerformance, step
from core.market import Slice
from tests.support.market_data import align, load_closes, load_ohlcv
from workers.strategies import MovingAverageCrossover

FAST, SLOW = 10, 30


def market_slices() -> tuple[list[Slice], list[str]]:
    """Every shipped daily series aligned by date (symbols missing on a day are absent)."""
    series = [load_ohlcv(s) for s in ("NVDA", "ORCL", "YHOO")]
    series += list(load_closes().values())
    slices = align(series)
    symbols = sorted({b.symbol for s in series for b in s})
    return slices, symbols


def run_framework(slices: list[Slice], symbols: list[str], n: int) -> float:
    fund = PortfolioAllocator(Decimal(1_000_000) * n, name="bench")
    share = Decimal(1) / n
    for i in range(n):
        strategy = MovingAverageCrossover([symbols[i % len(symbols)]], FAST, SLOW)
        fund.add_strategy(f"s{i}", strategy, share)
    gc.collect()
    start = time.perf_counter()
    for market in slices:
        fund.execute_bar(market.ts, market)
    return time.perf_counter() - start


def run_minimal(slices: list[Slice], symbols: list[str], n: int) -> float:
    """The same work without the framework: ledger, inline O(1) SMAs, performance update."""
    books = []
    for i in range(n):
        ledger = Ledger()
        ledger.transfer_in(Decimal(1_000_000))
        perf = StrategyPerformance(f"s{i}", 252)
        perf.update(None, ledger.portfolio_value)
        # symbol, ledger, perf, window, [fast sum, slow sum, long]
        state: list = [0.0, 0.0, False]
        books.append((symbols[i % len(symbols)], ledger, perf, deque(maxlen=SLOW), state))
    gc.collect()
    start = time.perf_counter()
    for market in slices:
        ts = market.ts
        for symbol, ledger, perf, window, state in books:
            ledger.process_slice(market)
            bar = market.get(symbol)
            if bar is not None:
                price = float(bar.close)
                if len(window) == SLOW:
                    state[1] -= window[0]
                if len(window) >= FAST:
                    state[0] -= window[-FAST]
                window.append(price)
                state[0] += price
                state[1] += price
                if len(window) == SLOW:
                    want = state[0] / FAST > state[1] / SLOW
                    if want != state[2]:
                        state[2] = want
                        ledger.order_target_percent(symbol, 0.95 if want else 0)
            perf.update(ts, ledger.portfolio_value)
    return time.perf_counter() - start


@contextlib.contextmanager
def _without_guard() -> Iterator[None]:
    saved = step.holdings, step.check_holdings
    step.holdings = lambda ledger: None  # type: ignore[assignment,return-value]
    step.check_holdings = lambda ledger, before: None
    try:
        yield
    finally:
        step.holdings, step.check_holdings = saved


def guard_cost(slices: list[Slice], symbols: list[str], n: int, repeats: int) -> None:
    with_guard, without = [], []
    for _ in range(repeats):
        with_guard.append(run_framework(slices, symbols, n))
        with _without_guard():
            without.append(run_framework(slices, symbols, n))
    updates = n * len(slices)
    on, off = min(with_guard) / updates * 1e6, min(without) / updates * 1e6
    print(f"N={n}, {updates} strategy-bars, best of {repeats}:")
    print(f"  with the post-step check  {on:.3f} us per strategy-bar ({1e6 / on:,.0f}/s)")
    print(f"  without it                {off:.3f} us per strategy-bar ({1e6 / off:,.0f}/s)")
    print(f"  the check costs           {on - off:.3f} us per strategy-bar ({on / off - 1:+.1%})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,100,1000")
    parser.add_argument("--bars", type=int, default=0, help="limit bars (0 = full series)")
    parser.add_argument("--guard-cost", type=int, default=0, help="N: cost of the check only")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    slices, symbols = market_slices()
    if args.bars:
        slices = slices[: args.bars]
    print(f"python {platform.python_version()} on {platform.machine()}; {len(slices)} slices")
    if args.guard_cost:
        guard_cost(slices, symbols, args.guard_cost, args.repeats)
        return
    print(f"{'N':>6} {'updates':>10} {'framework/s':>12} {'minimal/s':>12} {'ratio':>6}")
    for n in (int(x) for x in args.sizes.split(",")):
        updates = n * len(slices)
        framework = updates / run_framework(slices, symbols, n)
        minimal = updates / run_minimal(slices, symbols, n)
        ratio = framework / minimal
        print(f"{n:>6} {updates:>10} {framework:>12,.0f} {minimal:>12,.0f} {ratio:>6.2f}")
    try:
        from tests.bench import allocation_timing
    except ImportError:
        return
    print()
    allocation_timing.run()


if __name__ == "__main__":
    main()
