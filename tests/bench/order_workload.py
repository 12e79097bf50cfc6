"""A trading-heavy workload for the order path, run through `PortfolioAllocator` and by a
hand-written loop over the same Decimal arithmetic; both must end with the same books.

Five symbols follow a seeded geometric Brownian motion (daily, price-only bars: open = high =
low = close, volume 10,000,000, prices in cents). Strategy i trades symbol i mod 5: on an
up-tick when flat it buys floor(50 % of its cash / close) shares, on a down-tick when long it
sells everything, so it places about one order every two bars. Market orders fill at the next
bar's open (`core.fills`); the default ledger has no costs, a 2.5 % volume cap (250,000
shares here, never reached) and rejects a buy it cannot pay for.
"""

from __future__ import annotations

import gc
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from core import PortfolioAllocator, StrategyPerformance
from core.history import BarData
from core.market import Bar, Slice
from core.money import ZERO
from core.strategy_ledger import StrategyLedger
from workers.strategy import Strategy

SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE")
VOLUME = Decimal(10_000_000)
VOLUME_LIMIT = Decimal("0.025")  # FillModel's default: 250,000 shares here, never reached
CENT = Decimal("0.01")
HALF = Decimal("0.5")
FUND_CAPITAL = Decimal(1_000_000_000)
SHARE = Decimal("0.001")  # of the fund: every strategy gets exactly STRATEGY_CASH
STRATEGY_CASH = Decimal("1000000.00")  # as the fund funds it: in cents
LOOKBACK = 252  # the allocator's default lookback_window
START = datetime(2000, 1, 3, tzinfo=UTC)
PATH = "tests.bench.order_workload:UpTickTrader"


def price_slices(bars: int, seed: int, drift: float = 0.0002, vol: float = 0.02) -> list[Slice]:
    """`bars` daily slices of every symbol, a seeded geometric Brownian motion from 100."""
    rng = random.Random(seed)
    prices = [100.0] * len(SYMBOLS)
    slices = []
    for t in range(bars):
        ts = START + timedelta(days=t)
        row = {}
        for k, symbol in enumerate(SYMBOLS):
            prices[k] *= math.exp(rng.gauss(drift - vol * vol / 2, vol))
            price = max(Decimal(repr(prices[k])).quantize(CENT), CENT)
            row[symbol] = Bar(ts, symbol, price, price, price, price, VOLUME)
        slices.append(Slice(ts, row))
    return slices


def symbol_of(i: int) -> str:
    return SYMBOLS[i % len(SYMBOLS)]


class UpTickTrader(Strategy):
    """Buys half its cash of `symbol` on an up-tick when flat; sells it all on a down-tick."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def initialize(self, context: Any) -> None:
        context.previous = None

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        symbol = self.symbol
        price = data[symbol].close
        previous, context.previous = context.previous, price
        if previous is None:
            return
        position = ledger.positions.get(symbol)
        if position is None:
            if price > previous:
                shares = ledger.cash * HALF // price
                if shares:
                    ledger.order(symbol, shares)
        elif price < previous:
            ledger.order(symbol, -position.amount)


Books = dict[str, tuple[Decimal, Decimal, dict[str, tuple[Decimal, Decimal]]]]
"""Strategy id -> (cash, realised P&L, asset -> (quantity held, average cost)): what both
runs must agree on."""


def build_fund(n: int) -> PortfolioAllocator:
    fund = PortfolioAllocator(FUND_CAPITAL, name="orders")
    for i in range(n):
        fund.add_strategy(f"s{i}", UpTickTrader(symbol_of(i)), SHARE)
    return fund


def run_framework(slices: list[Slice], n: int) -> tuple[float, PortfolioAllocator]:
    """Seconds for `execute_bar` over `slices`, and the fund it leaves."""
    fund = build_fund(n)
    gc.collect()
    start = time.perf_counter()
    for market in slices:
        fund.execute_bar(market.ts, market)
    return time.perf_counter() - start, fund


def fund_books(fund: PortfolioAllocator) -> Books:
    books = {}
    for sid, rec in fund.book.records.items():
        ledger = rec.ledger
        assert ledger is not None
        positions = {a: (p.amount, p.cost_basis) for a, p in ledger.positions.items()}
        books[sid] = (ledger.cash, ledger.realized_pnl, positions)
    return books


def state_books(states: dict[str, dict[str, Any]]) -> Books:
    """`fund_books` of ledgers given as their `Ledger.to_state()`."""
    books: Books = {}
    for sid, state in states.items():
        positions = {
            p["asset"]: (Decimal(p["amount"]), Decimal(p["cost_basis"])) for p in state["positions"]
        }
        books[sid] = (Decimal(state["cash"]), Decimal(state["realized_pnl"]), positions)
    return books


def orders_placed(fund: PortfolioAllocator) -> int:
    return sum(rec.ledger.orders_placed for rec in fund.book.records.values() if rec.ledger)


@dataclass(slots=True)
class HandBook:
    """One strategy of the hand-written loop: its cash, holding at its average cost, realised
    P&L, pending order and statistics."""

    symbol: str
    perf: StrategyPerformance
    cash: Decimal = STRATEGY_CASH
    held: Decimal = ZERO
    basis: Decimal = ZERO
    realized: Decimal = ZERO
    pending: Decimal = ZERO
    previous: Decimal | None = None


def new_hand_books(n: int) -> list[HandBook]:
    books = []
    for i in range(n):
        perf = StrategyPerformance(f"s{i}", LOOKBACK)
        perf.update(None, STRATEGY_CASH)  # as the fund does when a strategy joins
        books.append(HandBook(symbol_of(i), perf))
    return books


def run_hand_written(slices: list[Slice], n: int) -> tuple[float, list[HandBook]]:
    """The same decisions and the same Decimal ledger arithmetic without the framework: fill
    the pending order at this bar's open under the bar's volume cap, keep the holding's
    average cost and the realised P&L, mark, decide, update the windowed statistics."""
    books = new_hand_books(n)
    gc.collect()
    start = time.perf_counter()
    for market in slices:
        ts = market.ts
        for book in books:
            bar = market[book.symbol]
            pending = book.pending
            if pending:
                if abs(pending) > (bar.volume * VOLUME_LIMIT).to_integral_value(ROUND_DOWN):
                    raise AssertionError(f"{pending} shares exceed the volume cap")
                price = bar.open
                if pending > 0:  # a buy when flat: it opens the holding at its price
                    cost = pending * price
                    if cost <= book.cash:  # else the ledger rejects the buy
                        book.cash -= cost
                        book.held = pending
                        book.basis = price
                else:  # a sale of everything: it realises (price - average cost) x quantity
                    book.cash -= pending * price
                    book.realized += (price - book.basis) * -pending
                    book.held = ZERO
                book.pending = ZERO
            price = bar.close
            held = book.held
            value = book.cash + held * price if held else book.cash
            previous, book.previous = book.previous, price
            if previous is not None:
                if not held:
                    if price > previous:
                        book.pending = book.cash * HALF // price
                elif price < previous:
                    book.pending = -held
            book.perf.update(ts, value)
    return time.perf_counter() - start, books


def hand_books(books: list[HandBook]) -> Books:
    return {
        f"s{i}": (b.cash, b.realized, {b.symbol: (b.held, b.basis)} if b.held else {})
        for i, b in enumerate(books)
    }


def check_same(framework: Books, hand: Books, what: str = "paperfund") -> None:
    """Raise when any strategy's cash or positions differ between the two runs."""
    if framework == hand:
        return
    wrong = [sid for sid in hand if framework.get(sid) != hand[sid]]
    first = wrong[0] if wrong else None
    raise AssertionError(
        f"{what} and the hand-written loop disagree for {len(wrong)} strategies; "
        f"{first}: {what} {framework.get(first or '')}, hand-written {hand.get(first or '')}"
    )
