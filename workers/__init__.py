"""Strategies and the hosts that run one strategy with its ledger."""

from workers.strategy import Strategy, TradingAlgorithm

__all__ = ["Strategy", "TradingAlgorithm"]
