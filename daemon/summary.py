"""The end-of-run summary: portfolio metrics, per-strategy table, correlations, rebalances.

The same figures, formatted the same way, feed the text summary and the report page
(`daemon.report`): money to cents with thousands separators, returns, drawdowns and weights
as percentages to `PERCENT_PLACES` places, Sharpe ratios to 2. Each figure says what it
covers: the returns and drawdowns cover the whole run, the Sharpe ratios the last
`lookback_window` returns only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from core.book import FundBook
from core.fund_metrics import correlation_matrix, portfolio_metrics
from core.money import PERCENT_PLACES, ZERO, format_amount, format_pct, format_pct_or_na
from core.records import RebalanceRecord, StrategyAllocation

Out = Callable[[str], None]

RECENT_REBALANCES = 5
"""The summary lists this many of the latest rebalances (the report lists them all)."""


@dataclass(frozen=True)
class FundFigures:
    """The fund's headline figures, formatted for people."""

    value: str
    return_: str
    reserve: str
    cash: str
    weighted_sharpe: str
    strategies: int
    running: int


@dataclass(frozen=True)
class StrategyFigures:
    """One strategy's row, formatted for people (`return_on_capital` is 'n/a' when the net
    capital put in is not positive)."""

    strategy_id: str
    value: str
    return_: str
    return_on_capital: str
    sharpe: str
    max_drawdown: str
    weight: str
    target: str
    state: str


def fund_figures(book: FundBook) -> FundFigures:
    """The fund's return is (value − initial capital) / initial capital. Money only moves
    between the reserve and the strategies, never into or out of the fund, so this is also
    the fund's time-weighted return."""
    seed = portfolio_metrics(book)  # the seed's figures, without thousands separators
    records = book.records.values()
    return FundFigures(
        value=format_amount(book.fund_value),
        return_=seed["portfolio_return"],
        reserve=format_amount(book.reserve.portfolio_value),
        cash=format_amount(book.reserve.cash + sum((r.cash for r in records), ZERO)),
        weighted_sharpe=seed["weighted_avg_sharpe"],
        strategies=seed["num_strategies"],
        running=seed["active_strategies"],
    )


def strategy_figures(book: FundBook) -> list[StrategyFigures]:
    total = book.fund_value
    return [_strategy_row(rec, total) for rec in book.records.values()]


def _strategy_row(rec: StrategyAllocation, fund_value: Decimal) -> StrategyFigures:
    perf = rec.performance
    weight = rec.value / fund_value if fund_value > ZERO else ZERO
    return StrategyFigures(
        strategy_id=rec.strategy_id,
        value=format_amount(rec.current_value),
        return_=format_pct(rec.time_weighted_return, PERCENT_PLACES),
        return_on_capital=format_pct_or_na(rec.return_pct, PERCENT_PLACES),
        sharpe=f"{perf.sharpe_ratio:.2f}",
        max_drawdown=format_pct(perf.max_drawdown, PERCENT_PLACES),
        weight=format_pct(weight, PERCENT_PLACES),
        target=format_pct(rec.target_weight, PERCENT_PLACES),
        state=rec.state.value,
    )


def sharpe_window(book: FundBook) -> str:
    """What the Sharpe ratios cover, in words."""
    return f"the last {book.lookback_window} returns (the whole run when shorter)"


def legend(book: FundBook) -> list[str]:
    """What the table's columns cover, for the lines under it."""
    return [
        "return: time-weighted (transfers excluded) and max dd (drawdown): over the whole run;",
        "return on capital: on the net capital put in, n/a when that is not positive;",
        f"{sharpe_header(book)}: annualised, over {sharpe_window(book)}.",
    ]


def sharpe_header(book: FundBook) -> str:
    return f"Sharpe ({book.lookback_window})"


def _table(book: FundBook) -> list[str]:
    rows = strategy_figures(book)
    id_width = max([16, *(len(r.strategy_id) + 2 for r in rows)])
    columns = [("value", 15), ("return", 10), ("return on capital", 19)]
    columns += [(sharpe_header(book), 14), ("max dd", 9), ("weight", 9)]
    head = "".join(f"{h:>{w}}" for h, w in columns)
    lines = [f"  {'strategy':<{id_width}}{head}  state"]
    for r in rows:
        cells = (r.value, r.return_, r.return_on_capital, r.sharpe, r.max_drawdown, r.weight)
        line = "".join(f"{c:>{w}}" for c, (_, w) in zip(cells, columns, strict=True))
        lines.append(f"  {r.strategy_id:<{id_width}}{line}  {r.state}")
    return lines


def rebalance_line(record: RebalanceRecord) -> str:
    return f"{record.ts}  {record.reason}  costs {format_amount(record.costs)}"


def print_summary(book: FundBook, name: str, out: Out = print) -> None:
    fund = fund_figures(book)
    out(f"fund {name}: value {fund.value}  return {fund.return_}")
    out(f"  reserve {fund.reserve}  value-weighted {sharpe_header(book)} {fund.weighted_sharpe}")
    for line in _table(book):
        out(line)
    for line in legend(book):
        out(f"  {line}")
    corr = correlation_matrix(book)
    if corr is not None:
        out(f"correlation of returns over {sharpe_window(book)}:")
        out(corr.round(2).to_string())
    count = len(book.rebalances)
    shown = book.rebalances[-RECENT_REBALANCES:]
    if count > len(shown):
        out(f"rebalances: {count}, the last {len(shown)}:")
    else:
        out(f"rebalances: {count}" + (":" if count else ""))
    for record in shown:
        out(f"  {rebalance_line(record)}")
