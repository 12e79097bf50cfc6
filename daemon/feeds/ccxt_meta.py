"""What the ccxt feed knows without the network: the ccxt import, timeframes, and the checks
`paperfund check-config` makes of a ccxt feed from ccxt's own metadata (its exchange ids,
each exchange's timeframes and capabilities), so a typo is reported before the fund starts.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from types import ModuleType

from daemon.feeds.errors import FeedConfigError

INSTALL_HINT = "the ccxt feed needs ccxt: pip install 'paperfund[ccxt]'"
SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9._-]*/[A-Z0-9][A-Z0-9._-]*")
"""A unified spot symbol, `BASE/QUOTE` (ccxt writes currency codes in capitals)."""
_TIMEFRAME = re.compile(r"([1-9][0-9]*)([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def ccxt_module(*, asynchronous: bool = False) -> ModuleType:
    """`ccxt` (or `ccxt.async_support`); `FeedConfigError` with the install hint if missing."""
    try:
        return importlib.import_module("ccxt.async_support" if asynchronous else "ccxt")
    except ImportError:
        raise FeedConfigError(INSTALL_HINT) from None


def parse_timeframe_s(timeframe: str) -> float:
    """Seconds of a ccxt timeframe of fixed length (`1s`, `5m`, `4h`, `1d`, `1w`); months and
    years, whose length varies, are refused."""
    match = _TIMEFRAME.fullmatch(timeframe) if isinstance(timeframe, str) else None
    if match is None:
        raise FeedConfigError(
            f"timeframe must be a number and one of s, m, h, d, w (1m, 4h, 1d), got {timeframe!r}"
        )
    return float(int(match.group(1)) * _UNIT_S[match.group(2)])


def check_ccxt(exchange: str, symbols: Iterable[str], timeframe: str) -> list[tuple[str, str]]:
    """(setting, reason) for each problem of a ccxt feed's exchange, symbols and timeframe,
    from ccxt's metadata alone (no request is made)."""
    try:
        ccxt = ccxt_module()
    except FeedConfigError as exc:
        return [("feed.kind", str(exc))]
    symbol_problems = [
        ("feed.symbols", f"{symbol!r} is not a BASE/QUOTE symbol (like BTC/USDT)")
        for symbol in symbols
        if not SYMBOL.fullmatch(symbol)
    ]
    if exchange not in ccxt.exchanges:
        near = [e for e in ccxt.exchanges if e.startswith(exchange[:3])] if exchange else []
        hint = f"; did you mean {', '.join(near[:5])}?" if near else ""
        return [("feed.exchange", f"ccxt has no exchange {exchange!r}{hint}"), *symbol_problems]
    client = getattr(ccxt, exchange)()  # builds from static metadata; no request
    problems = []
    if not client.has.get("fetchOHLCV"):
        problems.append(("feed.exchange", f"{exchange} does not serve candles (fetchOHLCV)"))
    problems += symbol_problems
    known = list(client.timeframes or {})
    if timeframe not in known:
        problems.append(
            ("feed.timeframe", f"{exchange} has no timeframe {timeframe!r} (it has {known})")
        )
    else:
        try:
            parse_timeframe_s(timeframe)
        except FeedConfigError as exc:
            problems.append(("feed.timeframe", str(exc)))
    return problems
