"""The command model: every malformed command is rejected with a reason naming the field."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from daemon.commands import Add, Pause, Rebalance, encode_command, parse_command
from daemon.errors import CommandRejected


def test_valid_commands_parse_and_round_trip() -> None:
    raw = '{"type":"rebalance","command_id":"c-1","weights":{"a":"0.4","b":0.3}}'
    command = parse_command(raw)
    assert isinstance(command, Rebalance)
    assert command.weights == {"a": Decimal("0.4"), "b": Decimal("0.3")}
    assert parse_command(encode_command(command)) == command
    assert isinstance(
        parse_command({"type": "pause", "command_id": "p", "strategy_id": "a"}), Pause
    )
    add = parse_command(
        json.dumps(
            {
                "type": "add",
                "command_id": "x",
                "strategy_id": "n",
                "catalog": "trend",
                "allocation": "0.1",
            }
        )
    )
    assert isinstance(add, Add) and add.allocation == Decimal("0.1")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", "Invalid JSON"),
        ("{}", "discriminator"),
        ('{"type":"fly","command_id":"1"}', "does not match any of the expected tags"),
        ('{"type":"pause","command_id":"1"}', "pause.strategy_id: Field required"),
        ('{"type":"pause","strategy_id":"a"}', "pause.command_id: Field required"),
        ('{"type":"pause","command_id":"1","strategy_id":"a","x":1}', "pause.x: Extra inputs"),
        ('{"type":"remove","command_id":"1","strategy_id":"a","liquidate":"maybe"}', "liquidate"),
        ('{"type":"rebalance","command_id":"1"}', "exactly one of weights or algorithm"),
        ('{"type":"rebalance","command_id":"1","weights":{"a":"1.5"}}', "weights.a"),
        ('{"type":"rebalance","command_id":"1","weights":{"a":"nan"}}', "weights.a"),
        ('{"type":"snapshot","command_id":"bad id with spaces"}', "command_id"),
    ],
)
def test_malformed_commands_are_rejected_with_the_field(raw: str, reason: str) -> None:
    with pytest.raises(CommandRejected, match=reason):
        parse_command(raw)


ADD = (
    '{{"type":"add","command_id":"1","strategy_id":"a",'
    '"catalog":{catalog},"allocation":{allocation}}}'
)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        *(
            (f'{{"type":"remove","command_id":"1","strategy_id":"a","liquidate":{v}}}', "liquidate")
            for v in ('"yes"', '"no"', '"true"', "0", "1", "null")
        ),
        ('{"type":"pause","command_id":"1","strategy_id":5}', "strategy_id"),
        ('{"type":"pause","command_id":"1","strategy_id":"a","reason":5}', "reason"),
        ('{"type":"pause","command_id":1,"strategy_id":"a"}', "command_id"),
        (ADD.format(catalog='"t"', allocation="true"), "allocation"),
        (ADD.format(catalog='"t"', allocation="[1]"), "allocation"),
        (ADD.format(catalog="7", allocation='"0"'), "catalog"),
        ('{"type":"rebalance","command_id":"1","weights":{"a":true}}', "weights.a"),
        ('{"type":"rebalance","command_id":"1","weights":[["a","0.1"]]}', "weights"),
        ('{"type":"rebalance","command_id":"1","algorithm":true}', "algorithm"),
        ('{"type":"rebalance","command_id":"1","algorithm":"configured","reason":1}', "reason"),
    ],
)
def test_wrong_json_types_are_rejected_not_coerced(raw: str, field: str) -> None:
    with pytest.raises(CommandRejected, match=field):
        parse_command(raw)
    with pytest.raises(CommandRejected, match=field):  # a mapping follows the same rules
        parse_command(json.loads(raw))


def test_fractions_take_json_numbers_and_decimal_strings() -> None:
    for value in ("0.25", '"0.25"'):
        command = parse_command(ADD.format(catalog='"t"', allocation=value))
        assert isinstance(command, Add) and command.allocation == Decimal("0.25")
