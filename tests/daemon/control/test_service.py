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
        assert [r.status for r in seen] == ["applied"]  # nothing to journal
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
