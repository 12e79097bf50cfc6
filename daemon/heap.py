"""Keeping the cyclic garbage collector's pauses short in a long-running fund.

A fund's state is a large, long-lived object graph (ledgers, their orders and positions,
return windows, history). CPython's cyclic collector walks all of it at every full
collection: with 1,000 strategies that is a pause of about 0.1 s every few dozen slices, the
whole of the p99 slice latency (`tests/bench/RESULTS.md`). `settle()` collects once and then
moves every object alive to the collector's permanent generation (`gc.freeze`), so later
collections walk only what was made since. The daemon (`daemon.app`) settles once, after the
supervisor has started (a
settle costs about as much as the full collection it avoids, ~0.1 s with the daemon's
libraries loaded: after every snapshot it would slow a small fund many times over). What
the fund makes later is collected as usual; an object frozen at start-up that later becomes
garbage in a reference cycle (a strategy removed since) is kept until the next start.
Reference counting, which frees almost everything, is unaffected; so are the fund's
numbers.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect everything collectable, then exempt what is alive from later collections."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
