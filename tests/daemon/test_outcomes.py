"""The command-id memory: first outcomes by id and body, conflicts, bounded retention and the
journal record of outcomes decided without journaling their command."""

from __future__ import annotations

import pytest

from daemon.commands import parse_command
from daemon.errors import RecoveryError
from daemon.outcomes import CommandMemory, Outcome


def pause(command_id: str, strategy_id: str = "trend") -> str:
    return f'{{"type":"pause","command_id":"{command_id}","strategy_id":"{strategy_id}"}}'


def test_the_newest_ids_are_kept_and_an_older_one_is_new_again() -> None:
    memory = CommandMemory(kept=3)
    for n in range(5):
        command = parse_command(pause(f"c{n}"))
        assert memory.recall(command, n) is None
        memory.remember(command, Outcome(f"c{n}", "applied", n, "ok"))
    assert len(memory) == 3
    assert memory.recall(parse_command(pause("c0")), 9) is None  # forgotten: a new command
    assert memory.first("c1") is None
    again = memory.recall(parse_command(pause("c4")), 9)
    assert again == Outcome("c4", "applied", 4, "ok", duplicate=True)
    other = memory.recall(parse_command(pause("c4", "momentum")), 9)
    assert other is not None and (other.status, other.slice_index) == ("rejected", 9)
    assert other.detail.startswith("conflict: command_id 'c4'")


def test_the_first_outcome_stays() -> None:
    memory = CommandMemory()
    command = parse_command(pause("p"))
    memory.remember(command, Outcome("p", "rejected", 1, "first"))
    memory.remember(command, Outcome("p", "applied", 2, "second"))
    assert memory.first("p") == Outcome("p", "rejected", 1, "first")


def test_an_outcome_record_is_remembered_by_replay_and_snapshots_round_trip() -> None:
    memory = CommandMemory()
    command = parse_command('{"type":"status","command_id":"s"}')
    outcome = Outcome("s", "applied", 7, "status")
    record = memory.outcome_record(command, outcome)
    replayed = CommandMemory()
    replayed.replay_record(record)
    assert replayed.recall(command, 9) == Outcome("s", "applied", 7, "status", duplicate=True)
    restored = CommandMemory()
    restored.restore(replayed.state())
    assert restored.state() == replayed.state()
    with pytest.raises(RecoveryError, match="unreadable command outcome record"):
        replayed.replay_record(b'{"v": 2}')


def test_outcomes_of_older_snapshots_answer_whatever_the_body() -> None:
    memory = CommandMemory()
    memory.restore_outcomes([Outcome("old", "applied", 3, "ok")])
    assert memory.recall(parse_command(pause("old", "x")), 5) == Outcome(
        "old", "applied", 3, "ok", duplicate=True
    )
