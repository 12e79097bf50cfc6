"""Pairs trading on the z-score of the log price ratio of two symbols."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any

from core.history import BarData
from core.strategy_ledger import StrategyLedger
from workers.strategy import Strategy


class PairsTradingStrategy(Strategy):
    """For each pair (a, b): z = (log(a/b) - mean) / std over `window` bars.

    When z > `entry_z` the pair is rich in a: go long b (and short a if the ledger allows
    shorting); when z < -`entry_z` the reverse; flatten when |z| < `exit_z`. Each pair gets
    `exposure / n_pairs` of the strategy's value per leg.
    """

    def __init__(
        self,
        pairs: Sequence[tuple[str, str]],
        window: int = 60,
        entry_z: float = 2.0,
        exit_z: float = 0.5,
        exposure: float = 0.9,
    ) -> None:
        if not pairs:
            raise ValueError("pairs must name at least one (a, b) pair")
        if not 0 <= exit_z < entry_z:
            raise ValueError("need 0 <= exit_z < entry_z")
        self.pairs = [tuple(p) for p in pairs]
        self.window = window
        self.entry_z = entry_z
        self.exit_z = exit_z
        self.exposure = exposure

    def initialize(self, context: Any) -> None:
        context.ratios = {pair: deque(maxlen=self.window) for pair in self.pairs}
        context.side = dict.fromkeys(self.pairs, 0)

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        share = self.exposure / len(self.pairs)
        for pair in self.pairs:
            a, b = pair
            if a not in data or b not in data:
                continue
            ratios = context.ratios[pair]
            ratios.append(math.log(float(data[a].close) / float(data[b].close)))
            if len(ratios) < self.window:
                continue
            side = _signal(_zscore(ratios), context.side[pair], self.entry_z, self.exit_z)
            if side != context.side[pair]:
                context.side[pair] = side
                _trade(ledger, a, b, side, share)


def _zscore(values: deque[float]) -> float:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return 0.0 if var <= 1e-18 else (values[-1] - mean) / math.sqrt(var)


def _signal(z: float, side: int, entry: float, exit_: float) -> int:
    """+1: long a (a cheap), -1: long b (a rich), 0: flat."""
    if z > entry:
        return -1
    if z < -entry:
        return 1
    if abs(z) < exit_:
        return 0
    return side


def _trade(ledger: StrategyLedger, a: str, b: str, side: int, share: float) -> None:
    short_ok = ledger.allow_short
    long_leg, short_leg = (a, b) if side == 1 else (b, a)
    if side == 0:
        ledger.order_target_percent(a, 0)
        ledger.order_target_percent(b, 0)
        return
    ledger.order_target_percent(short_leg, -share if short_ok else 0)
    ledger.order_target_percent(long_leg, share)
