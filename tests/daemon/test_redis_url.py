"""Redis URLs in messages never show the password."""

from __future__ import annotations

import pytest

from daemon.redis_url import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
        ("redis://:s3cret@db:6379/1", "redis://:***@db:6379/1"),
        ("rediss://fund:s3cret@db.example.com/0", "rediss://fund:***@db.example.com/0"),
        ("redis://fund@db:6379/0", "redis://fund@db:6379/0"),
        ("unix:///run/redis.sock?db=0&password=s3cret", "unix:///run/redis.sock?db=0&password=***"),
        ("redis://db:port/0", "<unparsable redis url>"),
    ],
)
def test_passwords_are_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "s3cret" not in redact_url(url)
