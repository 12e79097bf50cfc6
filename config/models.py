"""Settings sections other than allocation: fund, feed, strategies, ledger models, state, deadlines.

Every section forbids unknown options. Money and fractions are Decimal; statistics and
durations in seconds are float. Defaults here are what an option means when a file leaves it
out; `config/examples/demo.yaml` documents each of them.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, Tag, model_validator

from config.errors import FieldProblems, Problem
from config.values import (
    PATHS_SHAPE,
    ClassPath,
    Duration,
    Fraction,
    Name,
    NonNegativeDecimal,
    PositiveDecimal,
    Real,
    StrictModel,
    Symbol,
    SymbolList,
    Timestamp,
    Whole,
    tagged,
)

DEMO_SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE"]

Speed = Annotated[Real, Field(ge=0)]
"""Wall-clock pacing: 0 replays as fast as the fund steps; x plays x seconds of bar time per
second (1 = real time, 86400 = one daily bar per second)."""


class FundInfo(StrictModel):
    name: Name
    capital: PositiveDecimal


# ---------------------------------------------------------------- feeds


class SyntheticFeed(StrictModel):
    kind: Literal["synthetic"] = "synthetic"
    symbols: SymbolList = Field(default_factory=lambda: list(DEMO_SYMBOLS))
    start: Timestamp = datetime(2024, 1, 2, tzinfo=UTC)
    interval: Duration = timedelta(days=1)
    bars: Annotated[Whole, Field(gt=0)] | None = 504
    seed: Annotated[Whole, Field(ge=0)] = 7
    speed: Speed = 0.0
    drift: Real = 0.0003
    volatility: Annotated[Real, Field(ge=0)] = 0.015
    start_price: Annotated[Real, Field(gt=0)] = 100.0


class BarLimits(StrictModel):
    """Magnitudes a bar may carry; a bar outside them is rejected as `out_of_range`
    (`daemon.feeds.validation.BarLimits` has the same options and defaults)."""

    min_price: PositiveDecimal = Decimal("1e-12")
    max_price: PositiveDecimal = Decimal("1e12")
    max_volume: PositiveDecimal = Decimal("1e18")
    max_digits: Annotated[Whole, Field(ge=1)] = 20

    @model_validator(mode="after")
    def _ordered(self) -> BarLimits:
        if self.min_price > self.max_price:
            raise FieldProblems([Problem("min_price", f"exceeds max_price ({self.max_price})")])
        return self


class ReplayColumns(StrictModel):
    """Column names, matched case-insensitively; `time`, `volume` and `symbol` are used when the
    header has them (None: ignore such a column)."""

    date: str = "date"
    time: str | None = "time"
    open: str = "open"
    high: str = "high"
    low: str = "low"
    close: str = "close"
    volume: str | None = "volume"
    symbol: str | None = "symbol"


class ReplayFeed(StrictModel):
    kind: Literal["replay"]
    paths: Annotated[
        Annotated[list[Path], Field(min_length=1), Tag("list")]
        | Annotated[dict[Symbol, Path], Field(min_length=1), Tag("mapping")],
        PATHS_SHAPE,
    ]
    layout: Literal["auto", "ohlcv", "wide_close"] = "auto"
    columns: ReplayColumns = ReplayColumns()
    date_format: str | None = None
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    symbols: SymbolList | None = None
    start: Timestamp | None = None
    end: Timestamp | None = None
    presorted: bool = True
    duplicate_policy: Literal["reject", "keep_last"] = "reject"
    limits: BarLimits = BarLimits()
    speed: Speed = 0.0

    @model_validator(mode="after")
    def _ordered_bounds(self) -> ReplayFeed:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise FieldProblems([Problem("end", f"is before start ({self.start.isoformat()})")])
        return self


class RedisFeed(StrictModel):
    kind: Literal["redis"]
    url: Annotated[str, Field(pattern=r"^(redis|rediss|unix)://")] = "redis://localhost:6379/0"
    stream: Annotated[str, Field(min_length=1)] = "paperfund:bars"
    group: Annotated[str, Field(min_length=1)] = "paperfund"
    grace_period_s: Annotated[Real, Field(ge=0)] = 1.0
    symbols: SymbolList | None = None
    consumer: Annotated[str, Field(min_length=1)] = "paperfund-1"
    block_ms: Annotated[Whole, Field(ge=1)] = 1000
    batch: Annotated[Whole, Field(ge=1)] = 500
    backoff_s: Annotated[Real, Field(gt=0)] = 0.1
    max_backoff_s: Annotated[Real, Field(gt=0)] = 5.0
    reconnect_attempts: Annotated[Whole, Field(ge=1)] | None = None
    max_ahead_s: Annotated[Real, Field(ge=0, allow_inf_nan=False)] = 300.0
    limits: BarLimits = BarLimits()

    @model_validator(mode="after")
    def _backoff_order(self) -> RedisFeed:
        if self.backoff_s > self.max_backoff_s:
            raise ValueError("backoff_s must not exceed max_backoff_s")
        return self


class CcxtFeed(StrictModel):
    """Closed candles of an exchange polled through ccxt (`daemon.feeds.ccxt_feed`); the
    exchange id, symbols and timeframe are checked against ccxt's metadata by
    `check-config` (`daemon.feeds.ccxt_meta`)."""

    kind: Literal["ccxt"]
    exchange: Annotated[str, Field(min_length=1, max_length=64)]
    symbols: SymbolList
    timeframe: Annotated[str, Field(min_length=2, max_length=8)] = "1m"
    exchange_options: dict[str, Any] = Field(default_factory=dict)
    warmup_bars: Annotated[Whole, Field(ge=0, le=100_000)] = 0
    grace_period_s: Annotated[Real, Field(ge=0, allow_inf_nan=False)] | None = None
    settle_s: Annotated[Real, Field(ge=0, allow_inf_nan=False)] | None = None
    poll_interval_s: Annotated[Real, Field(gt=0, allow_inf_nan=False)] | None = None
    fetch_limit: Annotated[Whole, Field(ge=1, le=5000)] = 500
    backoff_s: Annotated[Real, Field(gt=0)] = 1.0
    max_backoff_s: Annotated[Real, Field(gt=0)] = 60.0
    reconnect_attempts: Annotated[Whole, Field(ge=1)] | None = None
    max_ahead_s: Annotated[Real, Field(ge=0, allow_inf_nan=False)] = 300.0
    limits: BarLimits = BarLimits()

    @model_validator(mode="after")
    def _backoff_order(self) -> CcxtFeed:
        if self.backoff_s > self.max_backoff_s:
            raise ValueError("backoff_s must not exceed max_backoff_s")
        return self


FeedSettings = Annotated[
    Annotated[SyntheticFeed, Tag("synthetic")]
    | Annotated[ReplayFeed, Tag("replay")]
    | Annotated[RedisFeed, Tag("redis")]
    | Annotated[CcxtFeed, Tag("ccxt")],
    tagged("kind", default="synthetic"),
]

# ---------------------------------------------------------------- strategies


class StrategyTemplate(StrictModel):
    """What a worker needs to build a strategy: its class, constructor params, worker mode."""

    class_path: ClassPath = Field(alias="class")
    params: dict[str, Any] = Field(default_factory=dict)
    worker: Literal["inprocess", "process", "shard"] = "inprocess"


class StrategySettings(StrategyTemplate):
    """A strategy the fund starts with, under `id`, with `allocation` of the fund's capital."""

    id: Name
    allocation: Fraction


# ---------------------------------------------------------------- ledger models


class _NoParams(StrictModel):
    pass


class NoCommissionSettings(StrictModel):
    kind: Literal["none"] = "none"
    params: _NoParams = _NoParams()


class PerShareParams(StrictModel):
    cost: NonNegativeDecimal = Decimal("0.005")
    min_trade_cost: NonNegativeDecimal = Decimal("1")


class PerShareSettings(StrictModel):
    kind: Literal["per_share"]
    params: PerShareParams = PerShareParams()


class PerTradeParams(StrictModel):
    cost: NonNegativeDecimal = Decimal("1")


class PerTradeSettings(StrictModel):
    kind: Literal["per_trade"]
    params: PerTradeParams = PerTradeParams()


class BasisPointsParams(StrictModel):
    bps: NonNegativeDecimal = Decimal("1")


class BasisPointsSettings(StrictModel):
    kind: Literal["basis_points"]
    params: BasisPointsParams = BasisPointsParams()


CommissionSettings = Annotated[
    Annotated[NoCommissionSettings, Tag("none")]
    | Annotated[PerShareSettings, Tag("per_share")]
    | Annotated[PerTradeSettings, Tag("per_trade")]
    | Annotated[BasisPointsSettings, Tag("basis_points")],
    tagged("kind", default="none"),
]


class NoSlippageSettings(StrictModel):
    kind: Literal["none"] = "none"
    params: _NoParams = _NoParams()


class FixedBasisPointsParams(StrictModel):
    bps: Annotated[NonNegativeDecimal, Field(lt=10_000)] = Decimal("5")


class FixedBasisPointsSettings(StrictModel):
    kind: Literal["fixed_basis_points"]
    params: FixedBasisPointsParams = FixedBasisPointsParams()


class VolumeShareParams(StrictModel):
    price_impact: Annotated[NonNegativeDecimal, Field(lt=1)] = Decimal("0.1")


class VolumeShareSettings(StrictModel):
    kind: Literal["volume_share"]
    params: VolumeShareParams = VolumeShareParams()


SlippageSettings = Annotated[
    Annotated[NoSlippageSettings, Tag("none")]
    | Annotated[FixedBasisPointsSettings, Tag("fixed_basis_points")]
    | Annotated[VolumeShareSettings, Tag("volume_share")],
    tagged("kind", default="none"),
]


class NextBarFillParams(StrictModel):
    volume_limit: Annotated[Fraction, Field(gt=0)] | None = Decimal("0.025")
    lot_size: PositiveDecimal = Decimal("1")


class FillSettings(StrictModel):
    kind: Literal["next_bar"] = "next_bar"
    params: NextBarFillParams = NextBarFillParams()


class LedgerSettings(StrictModel):
    commission: CommissionSettings = NoCommissionSettings()
    slippage: SlippageSettings = NoSlippageSettings()
    fill: FillSettings = FillSettings()
    allow_short: bool = False
    allow_negative_cash: bool = False


# ---------------------------------------------------------------- state and deadlines


def _yaml_off(value: object) -> object:
    # YAML 1.1 reads a bare `off` as false
    return "off" if value is False else value


class StateSettings(StrictModel):
    dir: Path = Path("./state")
    snapshot_every: Annotated[Whole, Field(ge=1)] = 100
    fsync: Annotated[Literal["every_slice", "interval", "off"], BeforeValidator(_yaml_off)] = (
        "every_slice"
    )
    fsync_interval_s: Annotated[Real, Field(gt=0)] = 1.0
    keep_snapshots: Annotated[Whole, Field(ge=1)] = 3


class DeadlineSettings(StrictModel):
    step_timeout_s: Annotated[Real, Field(gt=0)] = 5.0
    control_timeout_s: Annotated[Real, Field(gt=0)] = 30.0
    max_consecutive_errors: Annotated[Whole, Field(ge=1)] = 3
    shutdown_grace_s: Annotated[Real, Field(ge=0)] = 10.0


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
"""A cgroup v2 CPU quota: "max 100000" (none) or "200000 100000" (two CPUs' worth)."""


def usable_cpus(affinity: int, cpu_max: str | None) -> int:
    """CPUs a process may use: its affinity mask's, capped by a cgroup CPU quota (a
    container's limit, e.g. a Kubernetes pod's `limits.cpu`) rounded up; at least 1."""
    count = max(affinity, 1)
    fields = (cpu_max or "").split()
    if len(fields) == 2 and fields[0] != "max":
        try:
            quota, period = int(fields[0]), int(fields[1])
        except ValueError:
            return count
        if quota > 0 and period > 0:
            count = min(count, max(1, -(-quota // period)))
    return count


def _cpu_count() -> int:
    try:
        cpu_max: str | None = CGROUP_CPU_MAX.read_text()
    except OSError:
        cpu_max = None
    return usable_cpus(len(os.sched_getaffinity(0)), cpu_max)


class RaySettings(StrictModel):
    """Where the shards of `backend: ray` run (null address: a local Ray on this machine)."""

    address: Annotated[str, Field(min_length=1)] | None = None
    namespace: Annotated[str, Field(min_length=1)] = "paperfund"
    num_cpus: Annotated[Real, Field(ge=0)] = 1.0
    """What each shard actor reserves on its Ray node (0: nothing, any node takes it)."""


class WorkersSettings(StrictModel):
    """How `worker: shard` strategies are hosted: K shards, each a process (or a Ray actor)
    hosting many strategies; a strategy's shard is sha256(id) mod K (`workers.shard_host`)."""

    shards: Annotated[Whole, Field(ge=1)] = Field(default_factory=_cpu_count)
    backend: Literal["local", "ray"] = "local"
    ray: RaySettings = RaySettings()
    memory_limit_mb: Annotated[Whole, Field(ge=1)] | None = None
    statistics: Literal["shards", "supervisor"] = "shards"
    """Where shard-hosted strategies' performance statistics are updated: in their shards
    (the supervisor loads them before reading them), or by the supervisor on every slice."""


UNION_TAGS = frozenset(
    {"synthetic", "replay", "redis", "none", "per_share", "per_trade", "basis_points"}
    | {"fixed_basis_points", "volume_share", "next_bar", "list", "mapping"}
)
"""Discriminator values of the unions above (dropped from error paths)."""
