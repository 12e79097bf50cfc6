"""A digest of the whole fund state: equal digests mean equal funds, to the last digit.

Covers the reserve, every strategy's ledger (read from its worker), its book record and its
performance statistics. Used to prove that recovery and process isolation change nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from daemon.engine import FundEngine


async def fund_digest(engine: FundEngine) -> str:
    await engine.refresh_statistics()
    book = engine.book
    strategies = {}
    for sid, rec in book.records.items():
        strategies[sid] = {
            "ledger": await engine.workers[sid].ledger_state(),
            "performance": rec.performance.to_state(),
            "state": rec.state.value,
            "allocated_capital": str(rec.allocated_capital),
            "target_weight": str(rec.target_weight),
            "value": str(rec.value),
            "errors": [rec.error_count, rec.consecutive_errors, rec.last_error],
        }
    state: dict[str, Any] = {
        "reserve": book.reserve.to_state(),
        "timestamp": str(book.current_timestamp),
        "slice_index": engine.state.slice_index,
        "strategies": strategies,
        "rebalances": [repr(r) for r in book.rebalances],
    }
    canonical = json.dumps(state, sort_keys=True, default=str).encode()
    return hashlib.sha256(canonical).hexdigest()
