"""A slice the fund's arithmetic cannot take, through the supervisor with both worker kinds:
each strategy that cannot fill or mark against it gets an error (counted, quarantine rules
applied), the reserve keeps its marks and says so, and recovery replays it to the same
fund."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.market import Bar, Slice
from tests.support.fund import Fund, demo_config, demo_slices, settings_from

HUGE = "1e999999999"
AT = 150


def huge(market: Slice) -> Slice:
    ts = market.ts
    return Slice(
        ts, {s: Bar.of(ts, s, HUGE, HUGE, b.low, HUGE, b.volume) for s, b in market.items()}
    )


@pytest.mark.parametrize("mode", ["inprocess", "process", "shard"])
async def test_a_slice_that_overflows_is_each_strategy_error_and_replays_the_same(
    tmp_path: Path, mode: str
) -> None:
    data = demo_config()
    data["feed"]["bars"] = AT + 10
    for strategy in data["strategies"]:
        strategy["worker"] = mode
    settings = settings_from(data, tmp_path / "fund.yaml")
    slices = await demo_slices(settings)
    slices[AT] = huge(slices[AT])
    async with Fund(settings, tmp_path / "state") as fund:
        for market in slices[:AT]:
            await fund.sup.process(market)
        await fund.send(type="remove", command_id="x", strategy_id="trend", liquidate=False)
        book = fund.sup._engine.book
        assert book.reserve.positions, "the reserve took over the removed strategy's positions"
        marks = {a: p.last_price for a, p in book.reserve.positions.items()}
        errors = {sid: rec.error_count for sid, rec in book.records.items()}
        for market in slices[AT:]:
            await fund.sup.process(market)
        assert {a: p.last_price for a, p in book.reserve.positions.items()} != marks  # re-marked
        failed = [sid for sid, rec in book.records.items() if rec.error_count > errors[sid]]
        assert failed, "a strategy holding positions could not be marked at the huge slice"
        assert all("Overflow" in (book.records[sid].last_error or "") for sid in failed)
        kinds = [e.kind for e in fund.sup._engine.state.events if e.slice_index == AT]
        assert "reserve_mark_failed" in kinds
        digest = await fund.digest()
    async with Fund(settings, tmp_path / "state") as recovered:
        assert recovered.sup.replayed > len(slices) - AT  # the huge slice is in the tail
        assert await recovered.digest() == digest
