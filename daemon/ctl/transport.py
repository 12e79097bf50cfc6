"""How `paperfund ctl` reaches a fund: the Redis command channel or the HTTP API.

Both send one command and return its replies (the last is `applied` or `rejected`), raising
`NoAnswer` when the daemon does not answer in time or cannot be reached.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any, cast

from daemon.control.wire import (
    command_stream,
    reply_from_fields,
    reply_stream,
    sign,
    stream_entries,
)
from daemon.redis_url import redact_url

FINAL = frozenset({"applied", "rejected"})
Reply = dict[str, Any]


class NoAnswer(Exception):
    """No final reply in time, or the daemon (or Redis) could not be reached."""


class RedisTransport:
    def __init__(self, url: str, fund: str, key: bytes | None, timeout_s: float) -> None:
        import redis  # only this transport needs the client library: HTTP starts faster

        self.url, self.fund, self.key, self.timeout_s = url, fund, key, timeout_s
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self.client = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=5, socket_timeout=timeout_s + 5
        )

    def send(self, document: dict[str, Any]) -> list[Reply]:
        payload = json.dumps(document)
        fields = {"command": payload}
        if self.key is not None:
            fields["signature"] = sign(self.key, payload.encode())
        try:
            last = self._last_reply_id()
            entry = str(self.client.xadd(command_stream(self.fund), cast(dict[Any, Any], fields)))
            return self._replies_to(entry, last)
        except self._errors as exc:
            raise NoAnswer(f"redis at {redact_url(self.url)}: {exc}") from None

    def _last_reply_id(self) -> str:
        newest: Any = self.client.xrevrange(reply_stream(self.fund), count=1)
        return str(newest[0][0]) if newest else "0-0"

    def _replies_to(self, entry: str, after: str) -> list[Reply]:
        deadline = time.monotonic() + self.timeout_s
        replies: list[Reply] = []
        while (left := deadline - time.monotonic()) > 0:
            answer: Any = self.client.xread(
                {reply_stream(self.fund): after}, block=max(1, int(left * 1000)), count=100
            )
            for entry_id, fields in stream_entries(answer):
                after = entry_id
                if fields.get("entry") == entry:
                    replies.append(reply_from_fields(fields))
                    if fields.get("status") in FINAL:
                        return replies
        raise NoAnswer(f"no final reply to entry {entry} within {self.timeout_s:g} s")

    def watch(self) -> Iterator[Reply]:
        after = "$"
        while True:
            try:
                answer: Any = self.client.xread({reply_stream(self.fund): after}, block=1000)
            except self._errors as exc:
                raise NoAnswer(f"redis at {redact_url(self.url)}: {exc}") from None
            for entry_id, fields in stream_entries(answer):
                after = entry_id
                yield reply_from_fields(fields)


class HttpTransport:
    def __init__(self, base: str, token: str | None, key: bytes | None, timeout_s: float) -> None:
        self.base, self.token, self.key, self.timeout_s = base.rstrip("/"), token, key, timeout_s

    def send(self, document: dict[str, Any]) -> list[Reply]:
        payload = json.dumps(document).encode()
        headers = {"Content-Type": "application/json"}
        if self.key is not None:
            headers["X-Paperfund-Signature"] = sign(self.key, payload)
        body = self._request("POST", "/v1/commands", payload, headers)
        if not isinstance(body, dict):
            raise NoAnswer(f"unexpected answer from {self.base}: {body!r}")
        if "error" in body and "status" not in body and "reply" not in body:
            return [
                {
                    "command_id": document["command_id"],
                    "status": "rejected",
                    "detail": str(body["error"]),
                    "slice_index": None,
                    "duplicate": False,
                }
            ]
        final = body.get("reply", body)
        accepted = body.get("accepted")
        return [r for r in (accepted, final) if isinstance(r, dict)]

    def get(self, path: str) -> Any:
        return self._request("GET", path, None, {})

    def _request(self, method: str, path: str, data: bytes | None, headers: dict[str, str]) -> Any:
        if self.token:
            headers = {**headers, "Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 4xx/5xx still carry a JSON body
            try:
                return json.loads(exc.read())
            except ValueError:
                raise NoAnswer(f"{self.base}{path}: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise NoAnswer(f"{self.base}{path}: {exc}") from None
