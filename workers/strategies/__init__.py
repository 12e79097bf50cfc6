"""Example strategies to copy: trend, momentum, mean reversion and pairs."""

from workers.strategies.mean_reversion import MeanReversionStrategy
from workers.strategies.momentum import MomentumStrategy
from workers.strategies.moving_average import MovingAverageCrossover, TrendFollowingStrategy
from workers.strategies.pairs import PairsTradingStrategy

__all__ = [
    "MeanReversionStrategy",
    "MomentumStrategy",
    "MovingAverageCrossover",
    "PairsTradingStrategy",
    "TrendFollowingStrategy",
]
