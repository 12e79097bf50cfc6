"""Clients of a running daemon's two command transports, with one interface, so the same
tests run against both: `send(command) -> final reply` (a dict with `status`, `detail`,
`command_id`, `slice_index`, `duplicate`, `data`) and `replies(command) -> every reply, in
order`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import redis

from daemon.control.wire import (
    command_stream,
    reply_from_fields,
    reply_stream,
    sign,
    stream_entries,
)

FINAL = {"applied", "rejected"}
WAIT_S = 60.0


class HttpChannel:
    name = "http"

    def __init__(self, base: str, key: bytes | None = None) -> None:
        self.base, self.key = base, key

    def send_raw(self, body: bytes, signature: str | None = None) -> dict[str, Any]:
        """POST `body`; the final reply, or for an HTTP-level refusal (413, 415)
        `{"status": "rejected", "detail": error}`."""
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Paperfund-Signature"] = signature
        status, answer = self.request("POST", "/v1/commands", body, headers)
        if "reply" in answer:
            return dict(answer["reply"])
        assert status >= 400 and "error" in answer, answer
        return {"status": "rejected", "detail": answer["error"], "command_id": None}

    def send(self, command: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(command).encode()
        return self.send_raw(body, None if self.key is None else sign(self.key, body))

    def replies(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        """POST `command`; its replies in order (`accepted` when there was one, then the
        final one)."""
        body = json.dumps(command).encode()
        signature = None if self.key is None else sign(self.key, body)
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Paperfund-Signature"] = signature
        _, answer = self.request("POST", "/v1/commands", body, headers)
        accepted = [] if answer["accepted"] is None else [dict(answer["accepted"])]
        return [*accepted, dict(answer["reply"])]

    def get(self, path: str) -> Any:
        status, answer = self.request("GET", path)
        assert status == 200, (path, status, answer)
        return answer

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path, body, headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=WAIT_S) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


class RedisChannel:
    name = "redis"

    def __init__(self, url: str, fund: str, key: bytes | None = None) -> None:
        self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=WAIT_S)
        self.fund, self.key = fund, key

    def send_raw(self, body: bytes, signature: str | None = None) -> dict[str, Any]:
        fields: dict[Any, Any] = {"command": body}
        if signature is not None:
            fields["signature"] = signature
        after = self._last_reply()
        entry = str(self.client.xadd(command_stream(self.fund), fields))
        return self._final(entry, after)

    def send(self, command: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(command).encode()
        return self.send_raw(body, None if self.key is None else sign(self.key, body))

    def replies(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        """Send `command`; every reply to its entry, in order, up to the final one."""
        body = json.dumps(command).encode()
        fields: dict[Any, Any] = {"command": body}
        if self.key is not None:
            fields["signature"] = sign(self.key, body)
        after = self._last_reply()
        entry = str(self.client.xadd(command_stream(self.fund), fields))
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + WAIT_S
        while not seen or seen[-1]["status"] not in FINAL:
            left = deadline - time.monotonic()
            assert left > 0, f"no final reply to {entry}"
            answer: Any = self.client.xread(
                {reply_stream(self.fund): after}, block=int(left * 1000), count=1000
            )
            for entry_id, reply in stream_entries(answer):
                after = entry_id
                if reply.get("entry") == entry:
                    seen.append(reply_from_fields(reply))
        return seen

    def send_many(self, bodies: list[tuple[bytes, str | None]]) -> list[dict[str, Any]]:
        """Send all, then collect each one's final reply (in order)."""
        after = self._last_reply()
        pipe = self.client.pipeline(transaction=False)
        for body, signature in bodies:
            fields: dict[Any, Any] = {"command": body}
            if signature is not None:
                fields["signature"] = signature
            pipe.xadd(command_stream(self.fund), fields)
        entries = [str(e) for e in pipe.execute()]
        finals = self._finals(set(entries), after)
        return [finals[e] for e in entries]

    def _last_reply(self) -> str:
        newest: Any = self.client.xrevrange(reply_stream(self.fund), count=1)
        return str(newest[0][0]) if newest else "0-0"

    def _final(self, entry: str, after: str) -> dict[str, Any]:
        return self._finals({entry}, after)[entry]

    def _finals(self, entries: set[str], after: str) -> dict[str, dict[str, Any]]:
        finals: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + WAIT_S
        while len(finals) < len(entries):
            left = deadline - time.monotonic()
            assert left > 0, f"{len(entries) - len(finals)} commands without a final reply"
            answer: Any = self.client.xread(
                {reply_stream(self.fund): after}, block=int(left * 1000), count=1000
            )
            for entry_id, fields in stream_entries(answer):
                after = entry_id
                if fields.get("entry") in entries and fields["status"] in FINAL:
                    finals[fields["entry"]] = reply_from_fields(fields)
        return finals

    def close(self) -> None:
        self.client.close()
