"""Fund-level metrics in the seed's shapes: string-formatted dicts and a correlation matrix.

Statistics are float; money is formatted from Decimal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.book import FundBook
from core.money import ZERO, format_money, format_pct, format_pct_or_na
from core.records import StrategyState

MIN_CORRELATION_POINTS = 3


def portfolio_metrics(book: FundBook) -> dict[str, Any]:
    """The seed's keys; `portfolio_return` counts the reserve (a fresh fund reports 0.00%)."""
    total = book.fund_value
    records = book.records.values()
    total_cash = book.reserve.cash + sum((r.cash for r in records), ZERO)
    initial = book.initial_capital
    ret = (total - initial) / initial if initial > ZERO else ZERO
    strategy_value = sum((r.value for r in records if r.value > ZERO), ZERO)
    weighted = 0.0
    if strategy_value > ZERO:
        weighted = sum(
            float(r.value / strategy_value) * r.performance.sharpe_ratio
            for r in records
            if r.value > ZERO
        )
    return {
        "total_value": format_money(total),
        "total_cash": format_money(total_cash),
        "reserve_value": format_money(book.reserve.portfolio_value),
        "portfolio_return": format_pct(ret),
        "num_strategies": len(book.records),
        "active_strategies": sum(1 for r in records if r.state is StrategyState.RUNNING),
        "weighted_avg_sharpe": f"{weighted:.2f}",
    }


def strategy_metrics(book: FundBook) -> dict[str, dict[str, Any]]:
    """Per strategy: the performance metrics plus capital, value, returns, weights and state.

    `time_weighted_return` is the headline return; `return_pct` is the seed's return on the
    net capital put in, 'n/a' when that capital is ≤ 0.
    """
    weights = book.current_weights()
    result: dict[str, dict[str, Any]] = {}
    for sid, rec in book.records.items():
        metrics = rec.performance.get_metrics()
        metrics.update(
            allocated_capital=format_money(rec.allocated_capital),
            current_value=format_money(rec.current_value),
            time_weighted_return=format_pct(rec.time_weighted_return),
            return_pct=format_pct_or_na(rec.return_pct),
            target_weight=format_pct(rec.target_weight),
            current_weight=format_pct(weights[sid]),
            state=rec.state.value,
            error_count=rec.error_count,
            last_error=rec.last_error,
            pause_reason=rec.pause_reason,
        )
        result[sid] = metrics
    return result


def correlation_matrix(book: FundBook) -> pd.DataFrame | None:
    """Pearson correlation of the strategies' returns, aligned by timestamp.

    Only timestamps present in every strategy's window count. Returns None with fewer than
    two strategies or fewer than three common timestamps. A constant series has no defined
    correlation: its row and column are NaN (1.0 on the diagonal).
    """
    if len(book.records) < 2:
        return None
    series = {
        sid: dict(
            zip(rec.performance.return_timestamps, rec.performance.returns_array(), strict=True)
        )
        for sid, rec in book.records.items()
    }
    common = set.intersection(*(set(s) for s in series.values()))
    if len(common) < MIN_CORRELATION_POINTS:
        return None
    order = [
        ts for ts in next(iter(book.records.values())).performance.return_timestamps if ts in common
    ]
    matrix = np.array([[s[ts] for ts in order] for s in series.values()], dtype=np.float64)
    return pd.DataFrame(_corr(matrix), index=list(series), columns=list(series))


def _corr(matrix: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    centred = matrix - matrix.mean(axis=1, keepdims=True)
    norms = np.sqrt((centred * centred).sum(axis=1))
    constant = (matrix.max(axis=1) == matrix.min(axis=1)) | (norms == 0.0)
    safe = np.where(constant, 1.0, norms)
    corr: np.ndarray[Any, np.dtype[np.float64]] = np.clip(
        (centred @ centred.T) / np.outer(safe, safe), -1.0, 1.0
    )
    corr[constant, :] = np.nan
    corr[:, constant] = np.nan
    np.fill_diagonal(corr, 1.0)
    return corr
