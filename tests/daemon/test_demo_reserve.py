"""The shipped demo keeps a reserve, so that the README's control commands are accepted at
any moment of its run: `add slow --allocation 0.05` and `rebalance --weights
trend=0.4,momentum=0.3` both fit within 100 % of the fund at every slice."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from config import load_settings
from tests.support.fund import Fund, demo_slices

ADD = Decimal("0.05")
NAMED = {"trend": Decimal("0.4"), "momentum": Decimal("0.3")}


async def test_the_demo_keeps_its_reserve_and_room_for_the_readme_commands(
    tmp_path: Path,
) -> None:
    settings = load_settings(None, env={})  # the embedded default, as `paperfund run` reads it
    assert settings.feed.bars == 504
    slices = await demo_slices(settings)
    reserve_low = Decimal(1)
    async with Fund(settings, tmp_path / "state") as fund:
        book = fund.sup._engine.book
        for market in slices:
            await fund.sup.process(market)
            weights = book.current_weights()
            invested = sum(weights.values(), Decimal(0))
            others = sum((w for sid, w in weights.items() if sid not in NAMED), Decimal(0))
            assert invested + ADD <= Decimal("0.97"), (market.ts, weights)
            assert sum(NAMED.values()) + others <= Decimal("0.97"), (market.ts, weights)
            reserve_low = min(reserve_low, 1 - invested)
        assert len(book.rebalances) == 17  # the initial one, then monthly for 16 months
        # the reserve is what max_total leaves (30 %), give or take a month of drift
        assert Decimal("0.28") <= reserve_low <= Decimal("0.30")
        # and the README's commands are applied, in its order, on the finished fund
        for n, command in enumerate(
            [
                {"type": "pause", "strategy_id": "trend", "reason": "review"},
                {"type": "resume", "strategy_id": "trend"},
                {
                    "type": "add",
                    "strategy_id": "slow",
                    "catalog": "slow_trend",
                    "allocation": "0.05",
                },
                {"type": "remove", "strategy_id": "slow", "liquidate": True},
                {"type": "rebalance", "weights": {k: str(v) for k, v in NAMED.items()}},
                {"type": "rebalance", "algorithm": "configured"},
            ]
        ):
            outcome = await fund.send(command_id=f"op-{n}", **command)
            assert outcome.status == "applied", (command, outcome)
