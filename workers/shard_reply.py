"""A shard's answer to a slice (`SliceReply`), and what the shard remembers of the replies
it sent (`Sent`) so that the next one carries only what changed.

Most steps of a large fund only mark to market, and many of those move nothing: a strategy
holding only cash, or holding what did not trade. So a shard that knows the caller holds
its last reply's values sends, of the members that only marked, just those whose value or
cash differ from what it last sent them as (`SliceReply.changed`). It knows through the
reply's token: the caller names the last reply it booked (`base`), and the shard answers in
full whenever that is not its own last reply (a rebuilt shard, a reply lost on the way, a
caller that wants every member). A member that did more than mark to market is always
sent with its full report, and is sent again on the next slice (its book record resets its
count of consecutive errors there); so is a member after any operation of its own (a
deposit, a withdrawal, a restore: the caller's record of it changed). Adding or removing a
member changes the order, so the next reply is whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from core.orders import Fill
from core.step import StepReport
from workers.host import StepOutcome

ReplyToken = tuple[bytes, int]
"""(the shard host's own random id, its reply count): unique to one reply of one host."""


class SliceReply(NamedTuple):
    """A shard's answer to one slice (see the module docstring)."""

    values: list[Decimal]
    cash: list[Decimal]
    durations: list[float]
    """Seconds each member's step took in the shard."""
    notable: dict[int, StepReport]
    """Member index -> report, for the members whose step did more than mark to market."""
    changed: list[int] | None = None
    """The members `values` and `cash` are for, by index; None: every member, in order."""
    token: ReplyToken | None = None
    """Names this reply, for the next slice's `base` (None: a reply no later one builds on)."""

    @classmethod
    def of(cls, outcomes: Iterable[StepOutcome]) -> SliceReply:
        """The whole reply that carries `outcomes` (one per member, in member order)."""
        reply = cls([], [], [], {})
        values, cash, durations, notable = reply[:4]
        for index, (report, duration_s, _) in enumerate(outcomes):
            values.append(report.value)
            cash.append(report.cash)
            durations.append(duration_s)
            if is_notable(report):
                notable[index] = report
        return reply

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with the amounts as text, one string for the values, one for the cash and
        one for the notable reports' amounts: a `Decimal` pickles through its constructor,
        several times slower than `str` and `split` (exact both ways). The slices where many
        members trade at once are the slowest of a fund, and their reports are most of it."""
        text = " ".join
        rows, amounts = _pack_reports(self.notable)
        values, cash = text(map(str, self.values)), text(map(str, self.cash))
        return _unpickle_reply, (values, cash, self.durations, rows, amounts, *self[4:])


ReportRow = tuple[int, str, Any, bool, "str | None", int, "str | None", list[tuple[int, Any, str]]]
"""A notable report without its amounts: (member index, strategy id, ts, traded, error,
orders, fault, [(order id, ts, asset) of each fill])."""


def _pack_reports(notable: dict[int, StepReport]) -> tuple[list[ReportRow], str]:
    """The reports as rows, and their amounts as text in order: per report its value and
    cash, then per fill its amount, price, commission and slippage."""
    rows: list[ReportRow] = []
    amounts: list[Decimal] = []
    add = amounts.extend
    for index, (sid, ts, value, cash, fills, traded, error, orders, fault) in notable.items():
        add((value, cash))
        executions = []
        for order_id, filled_at, asset, amount, price, commission, slippage in fills:
            add((amount, price, commission, slippage))
            executions.append((order_id, filled_at, asset))
        rows.append((index, sid, ts, traded, error, orders, fault, executions))
    return rows, " ".join(map(str, amounts))


def _unpack_reports(rows: list[ReportRow], text: str) -> dict[int, StepReport]:
    """What `_pack_reports` packed. The tuples are made with `tuple.__new__`, as unpickling
    makes them, not through the NamedTuples' constructors (Python functions)."""
    amount = map(Decimal, text.split()).__next__  # a tuple's items are read left to right
    new = tuple.__new__
    notable: dict[int, StepReport] = {}
    for index, sid, ts, traded, error, orders, fault, executions in rows:
        value, cash = amount(), amount()
        fills: tuple[Fill, ...] = ()
        if executions:
            fills = tuple(
                [
                    new(Fill, (order_id, filled_at, asset, amount(), amount(), amount(), amount()))
                    for order_id, filled_at, asset in executions
                ]
            )
        report = (sid, ts, value, cash, fills, traded, error, orders, fault)
        notable[index] = new(StepReport, report)
    return notable


def _unpickle_reply(
    values: str,
    cash: str,
    durations: list[float],
    rows: list[ReportRow],
    amounts: str,
    changed: list[int] | None = None,
    token: ReplyToken | None = None,
) -> SliceReply:
    notable = _unpack_reports(rows, amounts)
    values_, cash_ = list(map(Decimal, values.split())), list(map(Decimal, cash.split()))
    return SliceReply(values_, cash_, durations, notable, changed, token)


def is_notable(report: StepReport) -> bool:
    """Whether a step did more than mark to market (a `SliceReply` carries its report)."""
    if report.fills or report.orders:
        return True
    return report.error is not None or report.fault is not None


class Sent:
    """What a shard host last sent of each member that only marked: (value, cash)."""

    def __init__(self) -> None:
        self.host_id = os.urandom(8)
        self.count = 0
        self.last: ReplyToken | None = None
        self.marks: dict[str, tuple[Decimal, Decimal]] = {}

    def forget(self, strategy_id: str) -> None:
        """The member is sent in the next reply, changed or not."""
        self.marks.pop(strategy_id, None)

    def reset(self) -> None:
        """The next reply is whole."""
        self.last = None
        self.marks = {}

    def reply(
        self, ids: Sequence[str], outcomes: Sequence[StepOutcome], base: ReplyToken | None
    ) -> SliceReply:
        """The reply to a slice whose outcomes (in member order, `ids`) are `outcomes`:
        only what changed since reply `base`, if that is the last one sent."""
        self.count += 1
        token = (self.host_id, self.count)
        whole = base is None or base != self.last
        marks: dict[str, tuple[Decimal, Decimal]] = {} if whole else self.marks
        reply = SliceReply([], [], [], {}, None if whole else [], token)
        values, cash, durations, notable, changed = reply[:5]
        last = marks.get
        for index, (report, duration_s, _) in enumerate(outcomes):
            durations.append(duration_s)
            sid, value, money = ids[index], report.value, report.cash
            if is_notable(report):
                notable[index] = report
                marks.pop(sid, None)
            elif whole or not _same(last(sid), value, money):
                marks[sid] = (value, money)
            else:
                continue
            values.append(value)
            cash.append(money)
            if changed is not None:
                changed.append(index)
        self.marks, self.last = marks, token
        return reply


def _same(sent: tuple[Decimal, Decimal] | None, value: Decimal, cash: Decimal) -> bool:
    """Whether `value` and `cash` are what was sent, to the digit: 1.0 and 1.00 are equal
    numbers but not the same amount for the book (its digest holds amounts as text)."""
    if sent is None:
        return False
    sent_value, sent_cash = sent
    if sent_value is not value and sent_value.compare_total(value):
        return False
    return sent_cash is cash or not sent_cash.compare_total(cash)
