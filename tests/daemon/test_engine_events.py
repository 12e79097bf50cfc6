"""The engine keeps only its newest runtime events, so snapshots do not grow with the
fund's age; recovery from the journal rebuilds the same bounded list."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon import engine
from tests.support.fund import Fund, make_settings


async def test_only_the_newest_events_are_kept_and_recovery_keeps_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "EVENTS_KEPT", 10)
    settings = make_settings(tmp_path)
    state = tmp_path / "state"
    async with Fund(settings, state) as fund:
        for n in range(25):
            kind = "pause" if n % 2 == 0 else "resume"
            outcome = await fund.send(type=kind, command_id=f"c{n}", strategy_id="trend")
            assert outcome.status == "applied"
        events = fund.sup._engine.state.events
        kept = [(e.kind, e.strategy_id, e.detail) for e in events]
    assert len(kept) == 10
    assert kept[-1][:2] == ("pause", "trend")  # the 25th command's
    assert [kind for kind, _, _ in kept] == ["resume", "pause"] * 5
    async with Fund(settings, state) as recovered:  # no snapshot: all of it replayed
        again = recovered.sup._engine.state.events
        assert [(e.kind, e.strategy_id, e.detail) for e in again] == kept
