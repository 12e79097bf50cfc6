"""JSON views of the running fund (status, strategies, rebalances), for the transports.

Money, weights and returns are exact decimal strings in positional notation, written by
`core.money.decimal_string` (never `0E-10` or `1e-05`); nothing here changes the fund.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.book import FundBook
from core.money import decimal_string
from core.records import RebalanceRecord, StrategyAllocation
from daemon.engine import FundEngine


def _iso(value: object) -> str | None:
    isoformat = getattr(value, "isoformat", None)
    return None if isoformat is None else str(isoformat())


def fund_status(
    name: str,
    engine: FundEngine,
    *,
    recovering: bool = False,
    snapshot_error: str | None = None,
) -> dict[str, Any]:
    book = engine.book
    value = book.fund_value
    initial = book.initial_capital
    states: dict[str, int] = {}
    for rec in book.records.values():
        states[rec.state.value] = states.get(rec.state.value, 0) + 1
    return {
        "fund": name,
        "slice_index": engine.state.slice_index,
        "last_slice_ts": _iso(book.current_timestamp),
        "value": decimal_string(value),
        "reserve": decimal_string(book.reserve.portfolio_value),
        "initial_capital": decimal_string(initial),
        "return": decimal_string((value - initial) / initial) if initial else "0",
        "strategies": len(book.records),
        "strategy_states": states,
        "rebalances": len(book.rebalances),
        "recovering": recovering,
        "snapshot_error": snapshot_error,
    }


def strategy_view(engine: FundEngine, rec: StrategyAllocation) -> dict[str, Any]:
    book = engine.book
    total = book.fund_value
    weight = rec.value / total if total > 0 else Decimal(0)
    return {
        "strategy_id": rec.strategy_id,
        "catalog": engine.state.catalog_of.get(rec.strategy_id),
        "state": rec.state.value,
        "pause_reason": rec.pause_reason,
        "value": decimal_string(rec.value),
        "cash": decimal_string(rec.cash),
        "allocated_capital": decimal_string(rec.allocated_capital),
        "target_weight": decimal_string(rec.target_weight),
        "current_weight": decimal_string(weight),
        "return": decimal_string(rec.time_weighted_return),
        "return_on_capital": None if rec.return_pct is None else decimal_string(rec.return_pct),
        "errors": rec.error_count,
        "consecutive_errors": rec.consecutive_errors,
        "last_error": rec.last_error,
        "metrics": rec.performance.get_metrics(),
        "metrics_window": rec.performance.lookback_window,
    }


def strategies_view(engine: FundEngine) -> list[dict[str, Any]]:
    return [strategy_view(engine, rec) for rec in engine.book.records.values()]


def rebalance_view(record: RebalanceRecord) -> dict[str, Any]:
    def weights(mapping: dict[str, Decimal]) -> dict[str, str]:
        return {sid: decimal_string(w) for sid, w in mapping.items()}

    return {
        "ts": _iso(record.ts),
        "trigger": record.trigger.value,
        "reason": record.reason,
        "weights_before": weights(record.weights_before),
        "weights_after": weights(record.weights_after),
        "targets": weights(record.targets),
        "transfers": weights(record.transfers),
        "skipped": weights(record.skipped),
        "costs": decimal_string(record.costs),
        "fund_value_before": decimal_string(record.fund_value_before),
        "fund_value_after": decimal_string(record.fund_value_after),
    }


def rebalances_view(book: FundBook, limit: int | None = None) -> list[dict[str, Any]]:
    records = book.rebalances if limit is None else book.rebalances[-limit:]
    return [rebalance_view(r) for r in records]
