"""`FundMetrics`: the fund's Prometheus metrics, read from its live state at scrape time.

Nothing is written per bar: a scrape reads the book, the engine's counters, the feed's
stats, the command service and the state store as they are. Only the two latency
histograms are fed on the hot path, through the supervisor's hooks (`Supervisor.observe`),
which `FundMetrics` installs when it is built.

Every label value comes from a closed set, never from a client's text, so no sender can
create series without limit: `trigger` is a `RebalanceTrigger` (initial, calendar, drift,
manual; a rebalance's free-text reason goes to the log and `/v1/rebalances` only), `reason`
a bar rejection code (`REJECT_REASONS`), `type` a command type or "unknown", `outcome` a
reply status, `state` a `StrategyState`; `strategy` is the id of a configured or added
strategy (removed ones leave the exposition).

Conventions: every name starts with `paperfund_`; durations are in seconds, sizes in bytes,
fractions end in `_ratio` (0.05 is 5 %); counters end in `_total`. Money is the fund's
currency as a float. Counters from the book (slices, errors, rebalances) cover the fund's
whole life; counters kept in memory (fills, orders, timeouts, commands, feed bars) start at 0
with the process, and fills, orders and timeouts skip the slices replayed at startup.

`FundMetrics` is a prometheus_client `Collector` on its own `CollectorRegistry` (never the
global one). `render()` writes the same bytes as `generate_latest(metrics.registry)`,
faster (see `daemon.control.metrics_text`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from core.records import RebalanceRecord, RebalanceTrigger
from daemon.control.health import Health
from daemon.control.metrics_histogram import SLICE_BUCKETS_S, STEP_BUCKETS_S, LatencyHistogram
from daemon.control.metrics_strategies import strategy_families
from daemon.control.metrics_text import (
    AnyFamily,
    HistogramFamily,
    Spec,
    labelled,
    singles,
    to_metric,
    write_text,
)
from daemon.control.service import CommandService
from daemon.engine import FundEngine
from daemon.feeds.base import FeedStats
from daemon.supervisor import Supervisor

Clock = Callable[[], float]
"""`time.time`-like: Unix seconds."""

FeedStatsSource = FeedStats | Callable[[], FeedStats | None] | None

_RECOVERING: Spec = ("gauge", "paperfund_recovering", "1 while the journal is replayed at startup.")
_READY: Spec = ("gauge", "paperfund_ready", "1 when the daemon is ready (as /readyz says).")
_REDIS: Spec = ("gauge", "paperfund_redis_connected", "1 when the Redis channel is connected.")
_FUND: tuple[Spec, ...] = (
    ("gauge", "paperfund_fund_value", "Marked value of the fund (reserve and strategies)."),
    ("gauge", "paperfund_reserve_value", "Marked value of the reserve."),
    ("gauge", "paperfund_fund_return_ratio", "Return on the initial capital (0.05 is 5 %)."),
    ("counter", "paperfund_slices_processed", "Slices the fund has stepped."),
    ("counter", "paperfund_orders", "Orders the strategies placed (live slices)."),
    ("counter", "paperfund_fills", "Fills of the strategies' orders (live slices)."),
)
_REBALANCES: Spec = (
    "counter",
    "paperfund_rebalances",
    "Rebalances, by trigger: initial, calendar, drift or manual.",
)
_CLOCK: tuple[Spec, ...] = (
    ("gauge", "paperfund_last_slice_timestamp_seconds", "Time of the last slice (Unix)."),
    ("gauge", "paperfund_feed_lag_seconds", "Now minus the time of the last slice."),
)
_FEED_BARS: Spec = ("counter", "paperfund_feed_bars", "Bars the feed delivered in slices.")
_FEED_REJECTED: Spec = (
    "counter",
    "paperfund_feed_bars_rejected",
    "Bars the feed rejected at validation, by reason.",
)
_FEED_FETCHES: Spec = ("counter", "paperfund_feed_fetches", "Requests the feed made for bars.")
_FEED_ERRORS: Spec = (
    "counter",
    "paperfund_feed_errors",
    "Failed requests of the feed, by kind (rate_limit, timeout, unavailable, network, exchange).",
)
_FEED_SYMBOL_TIME: Spec = (
    "gauge",
    "paperfund_feed_last_bar_timestamp_seconds",
    "Time of each symbol's last bar in a slice (Unix), for feeds that report it.",
)
_COMMANDS: Spec = (
    "counter",
    "paperfund_commands",
    "Commands received, by type and final outcome (applied or rejected).",
)
_SIGNATURES: Spec = (
    "counter",
    "paperfund_command_signature_failures",
    "Commands refused for a missing or bad signature.",
)
_STORE: tuple[Spec, ...] = (
    ("gauge", "paperfund_journal_size_bytes", "Payload bytes of the journal records held."),
    ("gauge", "paperfund_state_file_size_bytes", "Bytes on disk of the state database and WAL."),
    (
        "gauge",
        "paperfund_snapshot_age_records",
        "Journal records after the newest snapshot: what a restart would replay.",
    ),
)
_SNAPSHOT_TIME: Spec = (
    "gauge",
    "paperfund_last_snapshot_timestamp_seconds",
    "Time the newest snapshot was written or loaded (Unix); until the fund has one, the time"
    " the daemon started: alert on time() minus this.",
)
_PROCESSED_TIME: Spec = (
    "gauge",
    "paperfund_last_slice_processed_timestamp_seconds",
    "Wall-clock time the last live slice was processed (Unix): alert on time() minus this.",
)
_SLICE_HELP = "Time to process a live slice: journal, steps, rebalance, due snapshot."
_STEP_HELP = "Time a strategy's step took in its worker, per strategy and live slice."


class FundMetrics(Collector):
    """The metrics of one fund. `feed_stats` (a `FeedStats` or a callable returning one)
    and `service` may be set later: the feed and the command service are built after the
    supervisor. `redis_connected`: given only when a Redis command channel is configured.
    `clock`: Unix seconds, for the feed's lag."""

    def __init__(
        self,
        supervisor: Supervisor,
        *,
        feed_stats: FeedStatsSource = None,
        service: CommandService | None = None,
        health: Health | None = None,
        redis_connected: Callable[[], bool] | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.supervisor = supervisor
        self.feed_stats = feed_stats
        self.service = service
        self.health = health
        self.redis_connected = redis_connected
        self.clock = clock
        self.started_unix = clock()
        """Exported as the last snapshot's time until the fund has a snapshot: the state has
        gone unsnapshotted at least since then, and the panel and alert get a value."""
        self.slice_seconds = LatencyHistogram(SLICE_BUCKETS_S)
        self.step_seconds = LatencyHistogram(STEP_BUCKETS_S)
        self._triggers = TriggerCounts()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        supervisor.observe(self.slice_seconds.observe, self.step_seconds.observe_all)

    def render(self) -> tuple[bytes, str]:
        """The `/metrics` answer: the text exposition and its content type."""
        return write_text(self.families()), CONTENT_TYPE_LATEST

    def collect(self) -> Iterator[Metric]:
        for family in self.families():
            yield to_metric(family)

    def families(self) -> list[AnyFamily]:
        families = self._daemon_families()
        engine = self.supervisor.engine
        if engine is not None:
            families += self._fund_families(engine)
            families += strategy_families(engine)
        families += self._feed_families()
        families += self._command_families()
        families += self._store_families()
        families += self._latency_families()
        return families

    # ---- families ----------------------------------------------------------------------
    def _daemon_families(self) -> list[AnyFamily]:
        specs, values = [_RECOVERING], [self.supervisor.recovering]
        if self.health is not None:
            specs.append(_READY)
            values.append(self.health.ready()[0])
        if self.redis_connected is not None:
            specs.append(_REDIS)
            values.append(self.redis_connected())
        return list(singles(specs, values))

    def _fund_families(self, engine: FundEngine) -> list[AnyFamily]:
        book = engine.book
        value, initial = book.fund_value, book.initial_capital
        fund_return = (value - initial) / initial if initial else 0
        values = (
            value,
            book.reserve.portfolio_value,
            fund_return,
            engine.state.slice_index,
            engine.totals.orders,
            engine.totals.fills,
        )
        families: list[AnyFamily] = list(singles(_FUND, values))
        triggers = self._triggers.update(book.rebalances)
        rows = [((trigger,), n) for trigger, n in sorted(triggers.items())]
        families.append(labelled(_REBALANCES, ("trigger",), rows))
        if book.current_timestamp is not None:
            unix = book.current_timestamp.timestamp()
            families += singles(_CLOCK, (unix, self.clock() - unix))
        return families

    def _feed_families(self) -> list[AnyFamily]:
        stats = self.feed_stats() if callable(self.feed_stats) else self.feed_stats
        if stats is None:
            return []
        rows = [((reason,), n) for reason, n in sorted(stats.rejected.items())]
        families: list[AnyFamily] = [*singles([_FEED_BARS], [stats.bars])]
        families.append(labelled(_FEED_REJECTED, ("reason",), rows))
        if stats.errors:  # a feed that fetches (ccxt)
            errors = [((kind,), n) for kind, n in sorted(stats.errors.items())]
            times = [((s,), ts.timestamp()) for s, ts in sorted(stats.last_bar_ts.items())]
            families += singles([_FEED_FETCHES], [stats.fetches])
            families += [labelled(_FEED_ERRORS, ("kind",), errors)]
            families += [labelled(_FEED_SYMBOL_TIME, ("symbol",), times)]
        return families

    def _command_families(self) -> list[AnyFamily]:
        service = self.service
        if service is None:
            return []
        rows = [(key, n) for key, n in sorted(service.outcomes.items())]
        return [
            labelled(_COMMANDS, ("type", "outcome"), rows),
            *singles([_SIGNATURES], [service.signature_failures]),
        ]

    def _store_families(self) -> list[AnyFamily]:
        store = self.supervisor.store
        if store.closed:
            return []
        values = (store.journal_size_bytes(), store.file_size_bytes(), store.snapshot_age())
        families: list[AnyFamily] = list(singles(_STORE, values))
        written = self.supervisor.last_snapshot_unix
        families += singles([_SNAPSHOT_TIME], [self.started_unix if written is None else written])
        processed = self.supervisor.last_slice_unix
        if processed is not None:
            families += singles([_PROCESSED_TIME], [processed])
        return families

    def _latency_families(self) -> list[AnyFamily]:
        slices, steps = self.slice_seconds, self.step_seconds
        return [
            HistogramFamily(
                "paperfund_slice_duration_seconds", _SLICE_HELP, slices.buckets(), slices.sum_s
            ),
            HistogramFamily(
                "paperfund_step_duration_seconds", _STEP_HELP, steps.buckets(), steps.sum_s
            ),
        ]


class TriggerCounts:
    """Rebalances by trigger, counted incrementally over the book's append-only list; every
    trigger is there from the start (at 0)."""

    def __init__(self) -> None:
        self._records: list[RebalanceRecord] | None = None
        self._seen = 0
        self._counts = _no_triggers()

    def update(self, records: list[RebalanceRecord]) -> Counter[str]:
        if records is not self._records or len(records) < self._seen:
            self._records, self._seen, self._counts = records, 0, _no_triggers()
        for record in records[self._seen :]:
            self._counts[record.trigger.value] += 1
        self._seen = len(records)
        return self._counts


def _no_triggers() -> Counter[str]:
    return Counter(dict.fromkeys((trigger.value for trigger in RebalanceTrigger), 0))
