"""Control-plane settings: secrets from the environment or files, never shown, and checked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.config.support import Write, config, load, problems
from tests.support.daemon_process import cli

SECRET = "s3cret-password-0123456789"


def test_secrets_come_from_the_environment_and_never_show(write: Write) -> None:
    env = {
        "PAPERFUND_CONTROL__REDIS__URL": f"redis://fund:{SECRET}@db:6379/0",
        "PAPERFUND_CONTROL__SIGNING_KEY": SECRET,
        "PAPERFUND_CONTROL__HTTP__TOKEN": SECRET,
    }
    settings = load(write(config()), env)
    control = settings.control
    assert control.redis.redis_url() == f"redis://fund:{SECRET}@db:6379/0"
    assert control.key() == SECRET.encode()
    assert control.http.bearer_token() == SECRET
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())


def test_secrets_come_from_files(write: Write, tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text(SECRET + "\n")
    settings = load(write(config(control={"signing_key_file": str(key)})))
    assert settings.control.key() == SECRET.encode()


@pytest.mark.parametrize(
    ("control", "field", "words"),
    [
        ({"redis": {"url": "http://db"}}, "control.redis", "must start with redis://"),
        ({"signing_key": "short"}, "control.signing_key", "at least 16 bytes"),
        (
            {"http": {"token": SECRET, "token_file": "/etc/hostname"}},
            "control.http",
            "not both",
        ),
        ({"signing_key_file": "/nonexistent/key"}, "control", "cannot read signing_key_file"),
        ({"http": {"port": 70000}}, "control.http.port", "less than or equal to 65535"),
        ({"redis": {"backoff_s": 9, "max_backoff_s": 1}}, "control.redis", "backoff_s"),
    ],
)
def test_bad_control_settings_name_the_field(
    write: Write, control: dict[str, object], field: str, words: str
) -> None:
    found = problems(write(config(control=control)))
    assert field in found, found
    assert words in found[field]
    assert SECRET not in str(found)


def test_an_http_api_off_loopback_needs_a_token(write: Write) -> None:
    found = problems(write(config(control={"http": {"host": "0.0.0.0"}})))
    assert "requires a token" in found["control.http"]
    settings = load(write(config(control={"http": {"host": "0.0.0.0", "token": SECRET}})))
    assert settings.control.http.bearer_token() == SECRET


KEY = "0123456789abcdef-key"


@pytest.mark.parametrize(
    ("how", "field", "words"),
    [
        ("token inline", "control.http.token", "empty"),
        ("token file", "control.http.token_file", "empty"),
        ("token env", "control.http.token", "empty"),
        ("token with a space", "control.http.token", "without spaces"),
        ("key inline", "control.signing_key", "at least 16 bytes (after stripping)"),
        ("key file", "control.signing_key_file", "at least 16 bytes (after stripping)"),
        ("key env", "control.signing_key", "at least 16 bytes (after stripping)"),
    ],
)
def test_unusable_secrets_stop_check_config_and_run_naming_the_field(
    write: Write, tmp_path: Path, how: str, field: str, words: str
) -> None:
    """What `run` could not use (an empty token, a key too short once stripped) is refused
    by settings validation: both commands exit 2, name the field and start nothing."""
    blank, short = "  \t ", "   short-key   \n" + " " * 16
    secret_file = tmp_path / "secret"
    secret_file.write_text(blank + "\n" if how.startswith("token") else short)
    control, env = {
        "token inline": ({"http": {"token": blank}}, {}),
        "token file": ({"http": {"token_file": str(secret_file)}}, {}),
        "token env": ({}, {"PAPERFUND_CONTROL__HTTP__TOKEN": ""}),
        "token with a space": ({"http": {"token": "two words"}}, {}),
        "key inline": ({"signing_key": short}, {}),
        "key file": ({"signing_key_file": str(secret_file)}, {}),
        "key env": ({}, {"PAPERFUND_CONTROL__SIGNING_KEY": short}),
    }[how]
    path = write(config(control=control, state={"dir": str(tmp_path / "state")}))
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFUND_")}
    for args in (("check-config", str(path)), ("run", "--config", str(path))):
        result = cli(*args, env=base | env)
        assert result.returncode == 2, (args, result.stderr)
        assert f"{field}: " in result.stderr and words in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists()


def test_secrets_are_stripped_inline_and_from_files(write: Write, tmp_path: Path) -> None:
    settings = load(write(config(control={"signing_key": f"  {KEY}\n", "http": {"token": " t "}})))
    assert settings.control.key() == KEY.encode()
    assert settings.control.http.bearer_token() == "t"
