"""The command service every transport calls: size, signature and model checks, replies in
order (accepted, then applied or rejected), kept per command id, counted by outcome."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from config import FundSettings
from daemon.control.service import MAX_COMMAND_BYTES, CommandService, Reply, sign
from tests.support.fund import Fund, make_settings

KEY = b"shared-secret"


@pytest.fixture
def settings(tmp_path: Path) -> FundSettings:
    return make_settings(tmp_path)


async def run(
    service: CommandService, fund: Fund, payload: bytes, signature: str | None = None
) -> tuple[Reply, list[Reply]]:
    seen: list[Reply] = []
    pending = service.execute(payload, signature, seen.append)
    # the supervisor applies commands at slice boundaries; drain as the slice loop would
    task = asyncio.ensure_future(pending)
    await asyncio.sleep(0)
    await fund.sup._drain_commands()
    return await task, seen


def command(**fields: object) -> bytes:
    return json.dumps(fields).encode()


async def test_a_command_is_accepted_then_applied(settings: FundSettings, tmp_path: Path) -> None:
    async with Fund(settings, tmp_path / "state") as fund:
        service = CommandService(fund.sup, "demo")
        final, seen = await run(
            service, fund, command(type="pause", command_id="c1", strategy_id="trend")
        )
        assert [r.status for r in seen] == ["accepted", "applied"]
        assert seen[0].slice_index == final.slice_index == 0
        assert final == seen[-1]
        assert service.replies_of("c1") == seen
        assert service.outcomes[("pause", "applied")] == 1


async def test_status_replies_with_the_fund(settings: FundSettings, tmp_path: Path) -> None:
    async with Fund(settings, tmp_path / "state") as fund:
        service = CommandService(fund.sup, "demo")
        final, seen = await run(service, fund, command(type="status", command_id="s"))
        assert [r.status for r in seen] == ["accepted", "applied"]  # its outcome is journaled
        assert final.data is not None
        assert final.data["fund"] == "demo" and final.data["strategies"] == 3


@pytest.mark.parametrize(
    ("payload", "reason", "command_id"),
    [
        (b"{", "Invalid JSON", None),
        (command(type="pause", command_id="x"), "strategy_id: Field required", "x"),
        (command(type="fly", command_id="y"), "does not match any of the expected tags", "y"),
        (b"[1, 2]", "command", None),
        (b"x" * (MAX_COMMAND_BYTES + 1), "limit", None),
        (command(type="pause", command_id="z", strategy_id="ghost"), "ghost", "z"),
    ],
)
async def test_bad_commands_are_rejected_with_the_reason(
    settings: FundSettings, tmp_path: Path, payload: bytes, reason: str, command_id: str | None
) -> None:
    async with Fund(settings, tmp_path / "state") as fund:
        service = CommandService(fund.sup, "demo")
        before = await fund.digest()
        final, _ = await run(service, fund, payload)
        assert (final.status, final.command_id) == ("rejected", command_id)
        assert reason in final.detail
        assert await fund.digest() == before


async def test_signed_commands(settings: FundSettings, tmp_path: Path) -> None:
    async with Fund(settings, tmp_path / "state") as fund:
        service = CommandService(fund.sup, "demo", signing_key=KEY)
        payload = command(type="pause", command_id="c1", strategy_id="trend")
        unsigned, _ = await run(service, fund, payload)
        assert (unsigned.status, unsigned.command_id) == ("rejected", None)
        assert "signature required" in unsigned.detail
        forged, _ = await run(service, fund, payload, sign(b"other", payload))
        assert forged.detail == "bad signature"
        assert service.signature_failures == 2
        assert service.replies_of("c1") is None  # unverified replies are not filed under it
        good, _ = await run(service, fund, payload, sign(KEY, payload).upper())
        assert good.status == "applied"


async def test_a_signature_that_is_not_hex_is_just_bad(
    settings: FundSettings, tmp_path: Path
) -> None:
    async with Fund(settings, tmp_path / "state") as fund:
        service = CommandService(fund.sup, "demo", signing_key=KEY)
        payload = command(type="status", command_id="s")
        for signature in ("é" * 10, "\x00", "zz", " "):
            reply, _ = await run(service, fund, payload, signature)
            assert reply.detail in {"bad signature", "signature required: commands must be signed"}


def add(command_id: str, catalog: str, allocation: str) -> bytes:
    return command(
        type="add",
        command_id=command_id,
        strategy_id="new",
        catalog=catalog,
        allocation=allocation,
    )


async def test_every_valid_command_gets_accepted_then_its_outcome_and_repeats_get_the_same(
    settings: FundSettings, tmp_path: Path
) -> None:
    async with Fund(settings, tmp_path / "state") as fund:
        service = CommandService(fund.sup, "demo")
        # refused before journaling (weights would pass 100 %): still accepted, then rejected
        over = add("over", "slow_trend", "0.5")
        final, seen = await run(service, fund, over)
        assert [(r.status, r.duplicate) for r in seen] == [
            ("accepted", False),
            ("rejected", False),
        ]
        assert "would exceed 100%" in final.detail
        # the same body again: the same two replies, from the first outcome, as duplicates
        again, repeated = await run(service, fund, b"  " + over)
        assert [(r.status, r.duplicate) for r in repeated] == [
            ("accepted", True),
            ("rejected", True),
        ]
        assert again.detail == final.detail
        assert service.replies_of("over") == [
            Reply("over", "accepted", 0),
            Reply("over", "rejected", 0, final.detail),
        ]


async def test_a_command_id_used_for_another_body_is_a_conflict(
    settings: FundSettings, tmp_path: Path
) -> None:
    async with Fund(settings, tmp_path / "state") as fund:
        service = CommandService(fund.sup, "demo")
        await run(service, fund, add("a", "slow_trend", "0.5"))  # rejected: over 100 %
        before = await fund.digest()
        final, seen = await run(service, fund, add("a", "slow_trend", "0.01"))
        assert [r.status for r in seen] == ["rejected"]
        assert (final.duplicate, final.command_id) == (False, "a")
        assert final.detail.startswith("conflict: command_id 'a' was already used")
        assert await fund.digest() == before
        assert "new" not in fund.sup._engine.workers
        # what is remembered for the id is still its first outcome
        kept = service.replies_of("a")
        assert kept is not None and "would exceed 100%" in kept[-1].detail
