"""Redis URLs as they may be shown: in messages and logs the password never appears."""

from __future__ import annotations

from urllib.parse import urlsplit


def redact_url(url: str) -> str:
    """`url` with its password (and a password-only `?password=` query) replaced by `***`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparsable redis url>"
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        netloc = f"{user}:***@{host}" + (f":{port}" if port is not None else "")
    query = "&".join(
        "password=***" if item.lower().startswith("password=") else item
        for item in parts.query.split("&")
        if item
    )
    shown = f"{parts.scheme}://{netloc}{parts.path}"  # urlunsplit would drop unix:// slashes
    return shown + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")
