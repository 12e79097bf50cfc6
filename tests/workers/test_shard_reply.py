"""Replies of the changed members only: a caller that takes only what each reply carries
(`MemberColumns`) holds, after every slice, every member's value and cash exactly as a
whole reply gives them, across notable steps, errors, member operations, and members added
and removed; and a reply is whole whenever the caller's base is not the shard's last reply."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from core.history import BarData
from core.market import Slice
from core.step import StepReport
from core.strategy_ledger import StrategyLedger
from daemon.shard_columns import MemberColumns
from workers.host import LedgerConfig, StepOutcome, unwrap
from workers.shard_host import ShardHost
from workers.shard_reply import ReplyToken, Sent, SliceReply
from workers.strategy import Strategy

MA = "workers.strategies.moving_average:MovingAverageCrossover"
ERRS = "tests.workers.test_shard_reply:ErrsEveryThirdBar"
MEMBERS = {
    "ma0": (MA, {"fast": 3, "slow": 8}),
    "ma1": (MA, {"fast": 5, "slow": 20}),
    "idle": (MA, {"fast": 50, "slow": 100}),  # too slow to trade in the window: cash only
    "errs": (ERRS, {}),
}
WRONG = Decimal(-1)


class ErrsEveryThirdBar(Strategy):
    """Never trades (its value stays its cash) and raises on every third bar."""

    def initialize(self, context: Any) -> None:
        context.bars = 0

    def handle_data(self, context: Any, data: BarData, ledger: StrategyLedger) -> None:
        context.bars += 1
        if context.bars % 3 == 0:
            raise RuntimeError("every third bar")


def _join(shard: ShardHost, sid: str) -> None:
    path, params = MEMBERS[sid]
    unwrap(shard.handle(("add", (sid, path, params, LedgerConfig(), 50))))
    unwrap(shard.handle(("member", (sid, "initialize", ()))))
    unwrap(shard.handle(("member", (sid, "deposit", (Decimal(10_000),)))))


def _step(shard: ShardHost, market: Slice, base: ReplyToken | None) -> SliceReply:
    reply = unwrap(shard.handle(("step", (market, frozenset(), False, base))))
    assert isinstance(reply, SliceReply)
    return reply


def _op(shards: tuple[ShardHost, ShardHost], index: int) -> str | None:
    """A member operation or a change of members on some slices, done to both shards."""
    for shard in shards:
        if index == 40:
            unwrap(shard.handle(("member", ("ma0", "deposit", (Decimal(500),)))))
        elif index == 70:
            unwrap(shard.handle(("member", ("idle", "withdraw", (Decimal(250),)))))
        elif index == 79:  # changes nothing (a quiet bar): the caller rewrites its record
            unwrap(shard.handle(("member", ("errs", "cancel_orders", ("test",)))))
        elif index == 90:
            unwrap(shard.handle(("remove", ("ma1",))))
        elif index == 110:
            _join(shard, "ma1")
    return {40: "ma0", 70: "idle", 79: "errs"}.get(index)


def test_a_caller_booking_only_the_changes_holds_every_member_exactly(
    window: list[Slice],
) -> None:
    changing, whole = ShardHost(), ShardHost()
    for sid in MEMBERS:
        _join(changing, sid)
        _join(whole, sid)
    columns: MemberColumns | None = None
    base: ReplyToken | None = None
    carried = partial = errors = 0
    notable_before: dict[int, object] = {}
    for index, market in enumerate(window[:150]):
        touched = _op((changing, whole), index)
        if touched is not None and columns is not None:  # the caller's record moved
            columns.values[list(changing.members).index(touched)] = WRONG
        reply, truth = _step(changing, market, base), _step(whole, market, None)
        assert truth.changed is None
        if reply.changed is None:
            columns = MemberColumns(reply)
        else:
            assert columns is not None
            columns.apply(reply)
            partial += 1
        base = reply.token
        carried += len(reply.values)
        assert (columns.values, columns.cash) == (truth.values, truth.cash), index
        assert list(columns.floats) == [float(v) for v in truth.values]
        assert set(reply.notable) == set(truth.notable)
        if reply.changed is not None:  # a notable step is sent again on the next slice
            assert set(reply.notable) | set(notable_before) <= set(reply.changed), index
        notable_before = reply.notable
        errors += sum(1 for report in reply.notable.values() if report.error)
    assert partial > 140  # whole only at the start and after the members changed
    assert errors == 50
    assert carried < 0.75 * 150 * len(MEMBERS)


def test_a_reply_is_whole_unless_built_on_the_shards_last_reply(window: list[Slice]) -> None:
    shard = ShardHost()
    for sid in MEMBERS:
        _join(shard, sid)
    first = _step(shard, window[0], None)
    second = _step(shard, window[1], first.token)
    assert first.changed is None and second.changed is not None
    assert _step(shard, window[2], first.token).changed is None  # not the last one
    rebuilt = ShardHost()
    for sid in MEMBERS:
        _join(rebuilt, sid)
    last = _step(shard, window[3], None)
    assert _step(rebuilt, window[4], last.token).changed is None  # another host's token


def test_a_reply_of_changes_pickles_what_it_names() -> None:
    reply = SliceReply([Decimal("1.50")], [Decimal("0.0")], [0.1, 0.2], {}, [1], (b"x" * 8, 7))
    back = pickle.loads(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == reply and str(back.values[0]) == "1.50"


def test_an_amount_with_other_digits_is_sent_again_though_it_is_equal() -> None:
    """1.0 and 1.00 are the same number but not the same amount in the book's digest (it
    holds amounts as text): a member whose value or cash changes only its exponent is sent."""
    sent = Sent()
    ts = datetime(2024, 1, 2, tzinfo=UTC)

    def reply(value: str, cash: str, base: ReplyToken | None) -> SliceReply:
        report = StepReport("a", ts, Decimal(value), Decimal(cash), (), True)
        return sent.reply(["a"], [StepOutcome(report, 0.001)], base)

    first = reply("100.0", "5", None)
    assert reply("100.0", "5", first.token).changed == []  # the same amounts: nothing
    for value, cash in (("100.00", "5"), ("100.00", "5.0"), ("1E+2", "5.0")):
        last = sent.last
        changed = reply(value, cash, last)
        assert changed.changed == [0] and str(changed.values[0]) == value, (value, cash)
        assert str(changed.cash[0]) == cash
