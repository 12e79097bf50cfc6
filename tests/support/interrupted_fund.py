"""A program that runs a `PortfolioAllocator` loop until Ctrl-C, the way a user's script
would: on `KeyboardInterrupt` it prints the fund's state as one JSON line and exits 130
(the shell's code for SIGINT), without a traceback.

    python -m tests.support.interrupted_fund
"""

from __future__ import annotations

import json
import signal
import sys
from decimal import Decimal

from core import PortfolioAllocator
from tests.support.drivers import flat_slices
from tests.support.rogue_strategies import SaysReadyThenSlow, Steady

INTERRUPTED_EXIT = 130


def main() -> int:
    # As from a terminal, whatever the parent left us: a test run started in the background
    # by a non-interactive shell ignores SIGINT, and its children inherit that (and any
    # blocked signal).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.default_int_handler)
    fund = PortfolioAllocator(Decimal(100_000))
    fund.add_strategy("first", Steady(), Decimal("0.2"))
    fund.add_strategy("slow", SaysReadyThenSlow(on_bar=3), Decimal("0.2"))
    fund.add_strategy("last", Steady(), Decimal("0.2"))
    code = 0
    try:
        for market in flat_slices(10):
            fund.execute_bar(market.ts, market)
    except KeyboardInterrupt:
        code = INTERRUPTED_EXIT
    finally:
        state = {
            "execution_count": fund.execution_count,
            "current_timestamp": str(fund.current_timestamp),
            "observations": {
                sid: rec.performance.num_observations for sid, rec in fund.strategies.items()
            },
            "last_ts": {
                sid: str(rec.ledger.last_ts)  # type: ignore[union-attr]
                for sid, rec in fund.strategies.items()
            },
            "fund_value": str(fund.total_capital),
        }
        print(json.dumps(state), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
