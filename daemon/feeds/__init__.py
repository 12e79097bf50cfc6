"""Market data feeds: each yields validated `core.market.Slice`s in timestamp order.

- `Feed`, `FeedStats`, `Pacer` (`base`): the interface, its live counters, pacing.
- `BarValidator` (`validation`): the bad-bar policy and its rejection counters.
- `ReplayFeed` (`replay`; file layouts in `tables`, timestamps in `timestamps`): CSV and
  Parquet files; `SyntheticFeed` (`synthetic`): the seeded random walk;
  `RedisStreamFeed` (`redis_stream`): bars published to a Redis Stream, acknowledged by the
  consumer with `ack_through(ts)` once a slice is journaled; `CcxtFeed` (`ccxt_feed`, slice
  rules in `candles`, ccxt metadata in `ccxt_meta`): closed candles of an exchange, polled
  through ccxt (the `paperfund[ccxt]` extra).
- `build_feed(kind, **options)`: a feed by name, for configuration.
"""

from __future__ import annotations

import inspect
from typing import Any

from daemon.feeds.base import Clock, Feed, FeedStats, Pacer, Sleep
from daemon.feeds.ccxt_feed import CcxtFeed
from daemon.feeds.errors import (
    FeedColumnError,
    FeedConfigError,
    FeedError,
    FeedFileMissingError,
    FeedTimestampError,
)
from daemon.feeds.redis_stream import RedisStreamFeed
from daemon.feeds.replay import ReplayFeed
from daemon.feeds.synthetic import SyntheticFeed, synthetic_slices
from daemon.feeds.tables import Columns
from daemon.feeds.validation import (
    REJECT_REASONS,
    BarLimits,
    BarValidator,
    DuplicatePolicy,
    RawBar,
    RejectHook,
)

FEED_KINDS: dict[str, type[Feed]] = {
    "synthetic": SyntheticFeed,
    "replay": ReplayFeed,
    "redis": RedisStreamFeed,
    "ccxt": CcxtFeed,
}


def build_feed(kind: str, **options: Any) -> Feed:
    """A feed of `kind` ("synthetic", "replay", "redis" or "ccxt") built with `options` (its
    constructor's arguments). Raises `FeedConfigError` for an unknown kind or option, or a
    missing one."""
    cls = FEED_KINDS.get(kind)
    if cls is None:
        raise FeedConfigError(f"feed kind must be one of {sorted(FEED_KINDS)}, got {kind!r}")
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as exc:
        raise FeedConfigError(f"{kind} feed: {exc}") from None
    return cls(**options)


__all__ = [
    "REJECT_REASONS",
    "BarLimits",
    "BarValidator",
    "CcxtFeed",
    "Clock",
    "Columns",
    "DuplicatePolicy",
    "Feed",
    "FeedColumnError",
    "FeedConfigError",
    "FeedError",
    "FeedFileMissingError",
    "FeedStats",
    "FeedTimestampError",
    "Pacer",
    "RawBar",
    "RedisStreamFeed",
    "RejectHook",
    "ReplayFeed",
    "Sleep",
    "SyntheticFeed",
    "build_feed",
    "synthetic_slices",
]
