"""Pacing with an injected clock and sleep (nothing really sleeps), and the synthetic feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.market import Slice
from daemon.feeds import (
    Feed,
    FeedConfigError,
    Pacer,
    ReplayFeed,
    SyntheticFeed,
    build_feed,
    synthetic_slices,
)
from tests.support.market_data import DATA_DIR

START = datetime(2024, 1, 2, tzinfo=UTC)


class FakeTime:
    """A monotonic clock that moves only when slept on (or when a test moves it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def collect(feed: Feed) -> list[Slice]:
    return [market async for market in feed]


async def test_speed_60_sleeps_a_second_per_minute_of_data() -> None:
    fake = FakeTime()
    feed = SyntheticFeed(("A",), interval=60, bars=31, speed=60, sleep=fake.sleep, clock=fake.clock)
    slices = await collect(feed)
    elapsed_s = (slices[-1].ts - slices[0].ts).total_seconds()
    assert elapsed_s == 1800
    assert sum(fake.sleeps) == pytest.approx(elapsed_s / 60)
    assert fake.sleeps.count(0) == 1  # the first slice is released at once
    assert feed.stats.wait_s == pytest.approx(30.0)


async def test_pacing_replay_with_gaps_and_a_slow_consumer() -> None:
    fake = FakeTime()
    feed = ReplayFeed(
        DATA_DIR / "futures-2006-ohlcv-1min.csv",
        end="2006-01-02T12:00:00",
        speed=60,
        sleep=fake.sleep,
        clock=fake.clock,
    )
    released: list[float] = []
    first: datetime | None = None
    async for market in feed:
        first = first or market.ts
        released.append(fake.now)
        fake.now += 0.25  # the consumer's own work counts toward the pace
        last = market.ts
    assert first is not None
    data_s = (last - first).total_seconds()
    assert released[-1] - released[0] == pytest.approx(data_s / 60)
    assert sum(fake.sleeps) == pytest.approx(data_s / 60 - 0.25 * (len(released) - 1))


async def test_a_late_consumer_gets_slices_at_once() -> None:
    fake = FakeTime()
    pacer = Pacer(1, sleep=fake.sleep, clock=fake.clock)
    assert await pacer.wait(START) == 0
    fake.now += 10
    assert await pacer.wait(START + timedelta(seconds=5)) == 0
    assert await pacer.wait(START + timedelta(seconds=12)) == pytest.approx(2)
    assert fake.sleeps == [0, 0, pytest.approx(2)]


async def test_speed_zero_only_yields_to_the_loop() -> None:
    fake = FakeTime()
    feed = SyntheticFeed(bars=20, sleep=fake.sleep, clock=fake.clock)
    assert len(await collect(feed)) == 20
    assert fake.sleeps == [0] * 20
    assert feed.stats.wait_s == 0


@pytest.mark.parametrize("speed", [-1, float("nan"), float("inf")])
def test_invalid_speed(speed: float) -> None:
    with pytest.raises(FeedConfigError, match="speed"):
        SyntheticFeed(speed=speed)


async def test_synthetic_feed_is_deterministic_by_seed() -> None:
    one = await collect(SyntheticFeed(("X", "Y"), bars=50, seed=3))
    two = await collect(SyntheticFeed(("X", "Y"), bars=50, seed=3))
    other = await collect(SyntheticFeed(("X", "Y"), bars=50, seed=4))
    assert one == two
    assert one != other
    reference = synthetic_slices(
        ("X", "Y"), start=START, interval=timedelta(days=1), bars=50, seed=3
    )
    assert one == list(reference)
    feed = SyntheticFeed(("X", "Y"), bars=50, seed=3)
    assert [s async for s in feed.slices()] == [s async for s in feed.slices()] == one


async def test_synthetic_feed_options_and_endless_mode() -> None:
    feed = build_feed("synthetic", symbols=["Q"], start="2020-06-01", interval=3600, bars=None)
    assert isinstance(feed, SyntheticFeed)
    taken = [await anext(feed) for _ in range(500)]
    assert taken[-1].ts == datetime(2020, 6, 1, tzinfo=UTC) + timedelta(hours=499)
    await feed.aclose()
    assert feed.stats.slices == 500 and feed.stats.bars == 500
    assert feed.stats.rejected_total == 0
    with pytest.raises(FeedConfigError, match="symbols"):
        SyntheticFeed("ABC")
    with pytest.raises(FeedConfigError, match="interval"):
        SyntheticFeed(interval=timedelta(0))
    with pytest.raises(FeedConfigError, match="bars"):
        SyntheticFeed(bars=-1)


async def test_a_fast_forwarded_feed_paces_only_after_the_processed_slices() -> None:
    fake = FakeTime()
    feed = SyntheticFeed(("A",), interval=60, bars=10, speed=60, sleep=fake.sleep, clock=fake.clock)
    feed.fast_forward(START + timedelta(minutes=5))  # slices 0..5 were processed before
    slices = await collect(feed)
    assert len(slices) == 10
    assert fake.sleeps[:7] == [0] * 7  # released at once; the seventh anchors the pace
    assert fake.sleeps[7:] == pytest.approx([1.0, 1.0, 1.0])
