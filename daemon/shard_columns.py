"""What the book holds of a shard's members, by member index (`MemberColumns`): each
member's value, cash and value as a float, as of the last reply the engine booked, kept up
to date from replies that carry only the members that changed (`workers.shard_reply`).

The engine books only what a reply carries (`FundBook.on_marks`): the members a reply
leaves out hold, in the book, exactly what these columns hold for them. The floats give the
fund's history its row without reading every record (`Stepped.marked_row`).
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal

from core.step import StepReport
from workers.errors import WorkerError
from workers.shard_reply import SliceReply


class MemberColumns:
    """One shard's members' value, cash and value as a float, in member order."""

    def __init__(self, reply: SliceReply) -> None:
        """From a whole reply."""
        self.values: list[Decimal] = list(reply.values)
        self.cash: list[Decimal] = list(reply.cash)
        self.floats: array[float] = array("d", map(float, reply.values))

    def apply(self, reply: SliceReply) -> None:
        """Take a reply of the members that changed (`reply.changed`)."""
        changed = reply.changed
        assert changed is not None
        size = len(self.values)
        if changed and not 0 <= min(changed) <= max(changed) < size:
            raise WorkerError(f"a shard's reply names members outside its {size}")
        values, cash, floats = self.values, self.cash, self.floats
        for index, value, money in zip(changed, reply.values, reply.cash, strict=True):
            values[index] = value
            cash[index] = money
            floats[index] = float(value)

    def reports(
        self,
        ids: Sequence[str],
        ts: datetime,
        not_trading: Collection[str],
        notable: dict[int, StepReport],
    ) -> list[StepReport]:
        """Every member's report, in member order (`ids`: the members' ids in that order)."""
        return [
            notable[i]
            if i in notable
            else StepReport(sid, ts, self.values[i], self.cash[i], (), sid not in not_trading)
            for i, sid in enumerate(ids)
        ]
