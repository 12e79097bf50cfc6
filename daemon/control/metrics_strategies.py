"""The per-strategy metric families (label `strategy`), read from the engine at scrape time.

One pass over the book's records fills a column per metric; every column shares one list of
label values, so the exposition escapes each strategy id once. Money is Decimal in the book
and becomes float here, as every statistic is. Counters of fills, orders and timeouts come
from the engine's `activity` (this process's live slices); errors from the book's records.
"""

from __future__ import annotations

from core.records import StrategyAllocation, StrategyState
from daemon.control.metrics_text import Family, Labels
from daemon.engine import FundEngine, StrategyActivity

STATES = tuple(StrategyState)
_STATE_NAMES = tuple(state.value for state in STATES)

_GAUGES = (
    ("paperfund_strategy_value", "Marked value of the strategy (cash plus positions)."),
    ("paperfund_strategy_cash", "Cash the strategy holds."),
    ("paperfund_strategy_positions_value", "Marked value of the strategy's positions."),
    ("paperfund_strategy_target_weight_ratio", "Fraction of the fund last allocated to it."),
    ("paperfund_strategy_weight_ratio", "Its value as a fraction of the fund's value."),
    (
        "paperfund_strategy_return_ratio",
        "Time-weighted return since it joined, transfers excluded (0.05 is 5 %).",
    ),
    ("paperfund_strategy_drawdown_ratio", "Current drawdown of its NAV from its peak (<= 0)."),
    ("paperfund_strategy_max_drawdown_ratio", "Deepest drawdown of its NAV so far (<= 0)."),
    ("paperfund_strategy_volatility_ratio", "Annualised volatility of its returns (window)."),
    ("paperfund_strategy_sharpe_ratio", "Annualised Sharpe ratio of its returns (window)."),
    ("paperfund_strategy_quarantined", "1 while the fund itself keeps the strategy paused."),
)
_COUNTERS = (
    ("paperfund_strategy_errors", "Errors of the strategy: exceptions and worker faults."),
    ("paperfund_strategy_timeouts", "Steps that overran their deadline (process workers)."),
    ("paperfund_strategy_fills", "Fills of the strategy's orders (live slices)."),
    ("paperfund_strategy_orders", "Orders the strategy placed (live slices)."),
)
_IDLE = StrategyActivity()


def strategy_families(engine: FundEngine) -> list[Family]:
    records = list(engine.book.records.values())
    keys: list[Labels] = [(rec.strategy_id,) for rec in records]
    columns: list[list[float]] = [[] for _ in range(len(_GAUGES) + len(_COUNTERS))]
    (value, cash, positions, target, weight, ret, dd, max_dd, vol, sharpe, held) = columns[:11]
    (errors, timeouts, fills, orders) = columns[11:]
    fund_value = float(engine.book.fund_value)
    scale = 1.0 / fund_value if fund_value > 0 else 0.0
    activity = engine.activity
    for rec in records:
        value_f = float(rec.value)
        value.append(value_f)
        cash.append(float(rec.cash))
        positions.append(float(rec.value - rec.cash))
        target.append(float(rec.target_weight))
        weight.append(value_f * scale)
        perf = rec.performance
        ret.append(perf.total_return)
        dd.append(perf.current_drawdown)
        max_dd.append(perf.max_drawdown)
        vol.append(perf.volatility)
        sharpe.append(perf.sharpe_ratio)
        held.append(1.0 if rec.quarantined and rec.state is StrategyState.PAUSED else 0.0)
        counts = activity.get(rec.strategy_id, _IDLE)
        errors.append(float(rec.error_count))
        timeouts.append(float(counts.timeouts))
        fills.append(float(counts.fills))
        orders.append(float(counts.orders))
    kinds = [("gauge", *g) for g in _GAUGES] + [("counter", *c) for c in _COUNTERS]
    families = [
        Family(name, kind, help_text, ("strategy",), keys, column)
        for (kind, name, help_text), column in zip(kinds, columns, strict=True)
    ]
    families.append(_state_family(records))
    return families


def _state_family(records: list[StrategyAllocation]) -> Family:
    """One-hot: a sample per strategy and state, 1.0 for the state it is in."""
    keys: list[Labels] = []
    values: list[float] = []
    for rec in records:
        sid, current = rec.strategy_id, rec.state
        keys += [(sid, name) for name in _STATE_NAMES]
        values += [1.0 if state is current else 0.0 for state in STATES]
    return Family(
        "paperfund_strategy_state",
        "gauge",
        "1 for the lifecycle state the strategy is in, 0 for the others.",
        ("strategy", "state"),
        keys,
        values,
    )
