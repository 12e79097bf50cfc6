"""`ShardHost`: many strategy hosts stepped together in a fixed order, each announced before
its step; every other operation addresses one member. And the shard assignment rule."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.errors import InvalidInputError
from core.market import Slice
from core.orders import Fill
from core.performance import StrategyPerformance
from core.performance_copy import Since
from core.step import StepReport
from daemon.shard_columns import MemberColumns
from workers.host import LedgerConfig, StepOutcome, StrategyHost, build_host, unwrap
from workers.shard_host import IDLE, ShardHost, shard_of
from workers.shard_reply import SliceReply, is_notable
from workers.shard_stats import ShardStatistics

MA = "workers.strategies.moving_average:MovingAverageCrossover"
RAISING = "tests.workers.sample_strategies:Raising"
PARAMS = [{"fast": 3, "slow": 8}, {"fast": 5, "slow": 20}, {"fast": 2, "slow": 4}]


class RecordingWatch:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def stepping(self, index: int, replay: bool) -> None:
        self.calls.append(("replay" if replay else "step", index))

    def stepped(self) -> None:
        self.calls.append(("stepped", self.calls[-1][1]))

    def idle(self) -> None:
        self.calls.append(("idle", IDLE))


def _shard(watch: RecordingWatch | None = None) -> ShardHost:
    shard = ShardHost(watch)
    for i, params in enumerate(PARAMS):
        sid = f"ma{i}"
        assert unwrap(shard.handle(("add", (sid, MA, params, LedgerConfig(), 50)))) is None
        unwrap(shard.handle(("member", (sid, "initialize", ()))))
        unwrap(shard.handle(("member", (sid, "deposit", (Decimal(10_000),)))))
    return shard


def _alone(i: int) -> StrategyHost:
    host = build_host(f"ma{i}", MA, PARAMS[i], LedgerConfig(), 50)
    host.initialize()
    host.deposit(Decimal(10_000))
    return host


def test_steps_every_member_in_order_as_if_each_were_alone(window: list[Slice]) -> None:
    shard = _shard()
    alone = [_alone(i) for i in range(len(PARAMS))]
    notable = 0
    for market in window[:120]:
        reply = unwrap(shard.handle(("step", (market, frozenset({"ma1"}), False))))
        assert isinstance(reply, SliceReply)
        ids = ["ma0", "ma1", "ma2"]
        reports = MemberColumns(reply).reports(ids, market.ts, {"ma1"}, reply.notable)
        expected = [h.step(market, h.strategy_id != "ma1").report for h in alone]
        assert reports == expected
        assert set(reply.notable) == {i for i, r in enumerate(expected) if is_notable(r)}
        assert len(reply.durations) == 3
        notable += len(reply.notable)
    assert notable  # the replies carried some full reports (orders, fills)
    for i, host in enumerate(alone):
        state = unwrap(shard.handle(("member", (f"ma{i}", "ledger_state", ()))))
        assert state == host.ledger_state()
    assert alone[0].ledger_state()["closed_orders"]  # ma0 traded; ma1, never trading, did not
    assert not alone[1].ledger_state()["closed_orders"]


def test_announces_each_member_before_its_step_and_idles_after(window: list[Slice]) -> None:
    watch = RecordingWatch()
    shard = _shard(watch)
    unwrap(shard.handle(("step", (window[0], frozenset(), False))))
    assert watch.calls == [
        ("step", 0), ("stepped", 0), ("step", 1), ("stepped", 1), ("step", 2), ("stepped", 2),
        ("idle", IDLE),
    ]  # fmt: skip


def test_a_failing_step_leaves_the_watch_idle(window: list[Slice]) -> None:
    watch = RecordingWatch()
    shard = _shard(watch)
    unwrap(shard.handle(("step", (window[1], frozenset(), False))))
    reply = shard.handle(("step", (window[0], frozenset(), False)))  # not after the last
    assert reply[:2] == ("error", "InvalidInputError")
    assert watch.calls[-1] == ("idle", IDLE)


def test_a_step_failing_midway_leaves_each_members_statistics_with_its_ledger(
    window: list[Slice],
) -> None:
    """The trackers are updated after the members' steps, together: when a member's step
    raises, those stepped before it have their value recorded, the others do not."""
    shard = _shard()
    start = window[0].ts - timedelta(days=1)
    for i in range(3):
        tracker = StrategyPerformance(f"ma{i}")
        tracker.update(start, Decimal(10_000))
        unwrap(shard.handle(("member", (f"ma{i}", "track", (tracker.to_state(),)))))
    unwrap(shard.handle(("step_one", ("ma1", window[1], True))))  # ma1 is a slice ahead
    reply = shard.handle(("step", (window[0], frozenset(), False)))  # ma1 cannot take it
    assert reply[:2] == ("error", "InvalidInputError")
    stamps = [shard.stats.trackers[f"ma{i}"].timestamps[-1] for i in range(3)]
    assert stamps == [window[0].ts, window[1].ts, start]  # ma2 never stepped


def test_operations_address_one_member(window: list[Slice]) -> None:
    shard = _shard()
    unwrap(shard.handle(("member", ("ma1", "deposit", (Decimal(5),)))))
    values = [
        unwrap(shard.handle(("member", (f"ma{i}", "ledger_state", ()))))["cash"] for i in range(3)
    ]
    assert values == ["10000", "10005", "10000"]
    unwrap(shard.handle(("remove", ("ma1",))))
    assert list(shard.members) == ["ma0", "ma2"]
    assert shard.handle(("member", ("ma1", "ledger_state", ())))[:2] == ("error", "WorkerError")
    assert shard.handle(("add", ("ma0", MA, {}, LedgerConfig(), 50)))[:2] == (
        "error",
        "WorkerError",
    )
    assert shard.handle(("launch", ()))[:2] == ("error", "WorkerError")


def test_a_strategy_that_raises_is_its_own_error_not_the_shards(window: list[Slice]) -> None:
    shard = ShardHost()
    for sid, path, params in [("bad", RAISING, {"on_bar": 2}), ("ma", MA, PARAMS[0])]:
        unwrap(shard.handle(("add", (sid, path, params, LedgerConfig(), 50))))
        unwrap(shard.handle(("member", (sid, "initialize", ()))))
    outcomes = [
        unwrap(shard.handle(("step", (market, frozenset(), False)))) for market in window[:3]
    ]
    assert [0 in reply.notable and reply.notable[0].error is not None for reply in outcomes] == [
        False,
        True,
        False,
    ]
    assert all(1 not in reply.notable for reply in outcomes)


def test_rebuild_restores_members_and_replays_their_operations(window: list[Slice]) -> None:
    """Ledgers and statistics: a member tracked before its checkpoint, one tracked after
    it (the `track` is replayed), both with a flow after it."""
    live = _shard()
    sids = list(live.members)
    tracker = StrategyPerformance(sids[0])
    tracker.update(window[0].ts - timedelta(days=1), Decimal(10_000))
    unwrap(live.handle(("member", (sids[0], "track", (tracker.to_state(),)))))
    checkpoints = {
        sid: unwrap(live.handle(("member", (sid, "checkpoint", ())))) for sid in live.members
    }
    assert checkpoints[sids[0]][1] == tracker.to_state()
    assert all(checkpoints[sid][1] is None for sid in sids[1:])
    logs: dict[str, list[tuple[str, tuple[object, ...]]]] = {sid: [] for sid in live.members}
    late = StrategyPerformance("ma2")
    late.update(window[0].ts - timedelta(days=1), Decimal(10_000))
    unwrap(live.handle(("member", ("ma2", "track", (late.to_state(),)))))
    logs["ma2"].append(("track", (late.to_state(),)))
    for market in window[:60]:
        unwrap(live.handle(("step", (market, frozenset(), False))))
        for log in logs.values():
            log.append(("step", (market, True)))
    for sid in (sids[0], "ma2"):
        unwrap(live.handle(("member", (sid, "withdraw", (Decimal(100),)))))
        unwrap(live.handle(("member", (sid, "flow", (Decimal(-100),)))))
        logs[sid] += [("withdraw", (Decimal(100),)), ("flow", (Decimal(-100),))]
    watch = RecordingWatch()
    rebuilt = ShardHost(watch)
    builds = [
        ((sid, MA, PARAMS[i], LedgerConfig(), 50), *checkpoints[sid], logs[sid])
        for i, sid in enumerate(live.members)
    ]
    unwrap(rebuilt.handle(("rebuild", (builds,))))
    assert list(rebuilt.members) == list(live.members)
    for sid, host in live.members.items():
        assert rebuilt.members[sid].ledger_state() == host.ledger_state()
    nowhere = {sid: Since(0, ("none",)) for sid in live.members}
    assert rebuilt.statistics(nowhere) == live.statistics(nowhere)
    assert [sid for sid, _ in live.statistics(nowhere)] == [sids[0], "ma2"]
    for sid in (sids[0], "ma2"):
        assert rebuilt.stats.state(sid) == live.stats.state(sid)
        assert live.stats.trackers[sid].num_observations == 61
    assert {kind for kind, _ in watch.calls} == {"replay", "stepped", "idle"}


def test_shard_of_is_a_stable_hash_of_the_id_alone() -> None:
    ids = [f"strategy-{i}" for i in range(200)]
    for k in (1, 2, 3, 8):
        placed = [shard_of(sid, k) for sid in ids]
        assert all(0 <= p < k for p in placed)
        assert placed == [shard_of(sid, k) for sid in ids]
    assert len({shard_of(sid, 3) for sid in ids}) == 3
    # sha256("trend") as a big-endian integer, mod K: fixed, so it survives restarts
    assert [shard_of("trend", k) for k in (2, 3, 5, 7)] == [0, 2, 2, 3]


def test_a_slice_reply_pickles_its_amounts_exactly() -> None:
    """A reply's amounts travel as text: every Decimal comes back equal and with the same
    digits and exponent (what a digest of the fund sees)."""
    amounts = [
        Decimal("1E+2"),
        Decimal("-0.00"),
        Decimal("123.4500"),
        Decimal("1e-28"),
        Decimal("-98765432109876543210.0123456789"),
        Decimal("0"),
    ]
    report = StepReport("x", datetime(2024, 1, 2, tzinfo=UTC), Decimal(1), Decimal(2), (), True)
    reply = SliceReply(amounts, amounts[::-1], [0.5] * 6, {3: report})
    back = pickle.loads(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == reply
    assert [str(a) for a in back.values + back.cash] == [str(a) for a in amounts + amounts[::-1]]
    empty = pickle.loads(pickle.dumps(SliceReply([], [], [], {})))
    assert empty == SliceReply([], [], [], {})


def test_a_slice_reply_pickles_its_notable_reports_exactly() -> None:
    """The notable reports travel with their amounts as text too: each report, with its
    fills in order, comes back equal, of the same types, with every amount's digits."""
    ts = datetime(2024, 1, 2, tzinfo=UTC)
    fills = (
        Fill(7, ts, "AAA", Decimal("-1E+3"), Decimal("12.3400"), Decimal("0.00"), Decimal("-0")),
        Fill(8, None, "B B", Decimal("5"), Decimal("1e-28"), Decimal("1.5"), Decimal("0.010")),
    )
    reports = {
        0: StepReport("a", ts, Decimal("1.0"), Decimal("2.00"), fills, True, None, 2),
        4: StepReport("b", ts, Decimal("-3E+2"), Decimal("0"), (), False, "ValueError: x", 0),
        9: StepReport("c", ts, Decimal("4"), Decimal("5"), fills[1:], True, None, 0, "fault"),
        12: StepReport("d", ts, Decimal("9.99E+999999"), Decimal("-1E-999999"), (), True),
    }
    reply = SliceReply([Decimal(1)], [Decimal(2)], [0.1], reports, [3], (b"id", 5))
    back = pickle.loads(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == reply
    assert list(back.notable) == [0, 4, 9, 12]
    for index, report in back.notable.items():
        assert type(report) is StepReport
        assert all(type(fill) is Fill for fill in report.fills)
        assert repr(report) == repr(reports[index])  # every amount with its own digits


def test_a_tracker_refusing_its_value_does_not_keep_the_others_from_theirs() -> None:
    stats = ShardStatistics()
    start, ts = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    for sid in ("a", "b", "c"):
        tracker = StrategyPerformance(sid)
        tracker.update(start, Decimal(100))
        stats.set_state(sid, tracker.to_state())
    values = [Decimal(101), Decimal("NaN"), Decimal(99)]  # b's is no value at all
    reports = [StepReport(s, ts, v, v, (), True) for s, v in zip("abc", values, strict=True)]
    outcomes = [StepOutcome(report, 0.0) for report in reports]
    with pytest.raises(InvalidInputError, match="finite"):
        stats.stepped_all(["a", "b", "c"], ts, outcomes)
    assert [stats.trackers[s].num_observations for s in "abc"] == [2, 1, 2]
    assert stats.trackers["c"].portfolio_values[-1] == Decimal(99)
