"""Settings of the control plane (HTTP API, Redis command channel, signing) and of logging.

Secrets (the bearer token, the Redis URL with its password, the signing key) are
`SecretStr`: they never appear in a repr, an error message or a log. Each can be given
inline (better through the environment: `PAPERFUND_CONTROL__REDIS__URL=...`) or as a file
(`..._file`, e.g. a mounted Kubernetes Secret); not both.

Surrounding whitespace (a file's trailing newline) is stripped from every secret, inline or
from a file, and what remains is checked here, so that `check-config` refuses what `run`
could not use, naming the field: a token must not be empty and must be visible ASCII without
spaces (what an `Authorization` header carries); a signing key must keep at least 16 bytes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

from config.errors import FieldProblems, Problem
from config.values import Real, StrictModel, Whole

MIN_KEY_BYTES = 16


def requires_token(host: str) -> bool:
    """Whether binding to `host` exposes the control plane beyond this machine (anything but
    localhost, 127.0.0.0/8 and ::1), so that a token must be configured."""
    name = host.strip().removeprefix("[").removesuffix("]")
    if name.lower() == "localhost":
        return False
    try:
        address = ipaddress.ip_address(name)
    except ValueError:  # another name, or all interfaces ("")
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return not address.ipv4_mapped.is_loopback
    return not address.is_loopback


def _read_secret(inline: SecretStr | None, path: Path | None, what: str) -> str | None:
    if inline is not None and path is not None:
        raise ValueError(f"give {what} or {what}_file, not both")
    if path is not None:
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read {what}_file {path}: {exc.strerror}") from None
    return None if inline is None else inline.get_secret_value().strip()


def _check_secret(
    inline: SecretStr | None, path: Path | None, what: str, problem: Callable[[str], str | None]
) -> None:
    """Raise at the field that holds the secret when `problem` finds one in its value."""
    secret = _read_secret(inline, path, what)
    found = None if secret is None else problem(secret)
    if found is not None:
        field = what if path is None else f"{what}_file"
        raise FieldProblems([Problem(field, found)])


def _token_problem(token: str) -> str | None:
    if not token:
        return "the token is empty (or only whitespace)"
    if not all("!" <= char <= "~" for char in token):
        return "the token must be visible ASCII characters without spaces"
    return None


def _key_problem(key: str) -> str | None:
    size = len(key.encode())
    if size < MIN_KEY_BYTES:
        return f"signing_key must be at least {MIN_KEY_BYTES} bytes (after stripping), got {size}"
    return None


class HttpSettings(StrictModel):
    enabled: bool = True
    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[Whole, Field(ge=0, le=65535)] = 8377
    token: SecretStr | None = None
    token_file: Path | None = None

    @model_validator(mode="after")
    def _token_off_loopback(self) -> HttpSettings:
        _check_secret(self.token, self.token_file, "token", _token_problem)
        if self.enabled and self.bearer_token() is None and requires_token(self.host):
            raise ValueError(
                f"binding the HTTP API to {self.host!r} (not loopback) requires a token"
            )
        return self

    def bearer_token(self) -> str | None:
        return _read_secret(self.token, self.token_file, "token")


class RedisControlSettings(StrictModel):
    url: SecretStr | None = None
    url_file: Path | None = None
    group: Annotated[str, Field(min_length=1)] = "paperfund"
    consumer: Annotated[str, Field(min_length=1)] = "paperfund-1"
    block_ms: Annotated[Whole, Field(ge=1)] = 1000
    backoff_s: Annotated[Real, Field(gt=0)] = 0.1
    max_backoff_s: Annotated[Real, Field(gt=0)] = 5.0

    @model_validator(mode="after")
    def _check(self) -> RedisControlSettings:
        url = self.redis_url()
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("url must start with redis://, rediss:// (TLS) or unix://")
        if self.backoff_s > self.max_backoff_s:
            raise ValueError("backoff_s must not exceed max_backoff_s")
        return self

    def redis_url(self) -> str | None:
        return _read_secret(self.url, self.url_file, "url")


class ControlSettings(StrictModel):
    http: HttpSettings = HttpSettings()
    redis: RedisControlSettings = RedisControlSettings()
    signing_key: SecretStr | None = None
    signing_key_file: Path | None = None
    max_bar_age_s: Annotated[Real, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _one_key(self) -> ControlSettings:
        _check_secret(self.signing_key, self.signing_key_file, "signing_key", _key_problem)
        return self

    def key(self) -> bytes | None:
        secret = _read_secret(self.signing_key, self.signing_key_file, "signing_key")
        return None if secret is None else secret.encode()


class LogSettings(StrictModel):
    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"
