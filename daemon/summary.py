"""The end-of-run summary: portfolio metrics, per-strategy table, correlations, rebalances."""

from __future__ import annotations

from collections.abc import Callable

from core.book import FundBook
from core.fund_metrics import correlation_matrix, portfolio_metrics, strategy_metrics

Out = Callable[[str], None]


def print_summary(book: FundBook, name: str, out: Out = print) -> None:
    metrics = portfolio_metrics(book)
    out(f"fund {name}: value {metrics['total_value']}  return {metrics['portfolio_return']}")
    out(f"  reserve {metrics['reserve_value']}  weighted Sharpe {metrics['weighted_avg_sharpe']}")
    out(
        f"  {'strategy':<16}{'value':>14}{'return':>10}{'on capital':>11}{'sharpe':>8}"
        f"{'max dd':>9}{'weight':>9}"
    )
    for sid, m in strategy_metrics(book).items():
        out(
            f"  {sid:<16}{m['current_value']:>14}{m['time_weighted_return']:>10}"
            f"{m['return_pct']:>11}{m['sharpe_ratio']:>8}{m['max_drawdown']:>9}"
            f"{m['current_weight']:>9}  {m['state']}"
        )
    corr = correlation_matrix(book)
    if corr is not None:
        out("correlation:")
        out(corr.round(2).to_string())
    out(f"rebalances: {len(book.rebalances)}")
    for record in book.rebalances[-5:]:
        out(f"  {record.ts}  {record.reason}  costs {record.costs}")
