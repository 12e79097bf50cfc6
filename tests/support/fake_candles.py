"""Deterministic candles for the fake Binance server (`tests/support/fake_exchange.py`).

A symbol's price at any millisecond is a pure function of (seed, symbol, time): a slow drift,
interpolated between hashed knots six hours apart, plus a small hashed jitter, around a base
price (about 30000 for BTC, 2000 for ETH, 100 for anything else). A candle opens at the price
of its open time and closes at the price of its close time, so consecutive candles join; its
high and low reach a hashed distance beyond them, and its volume is a hashed multiple of the
symbol's lot step. Prices have 2 decimals (tick 0.01); volumes have the step's decimals (5 for
BTC, 4 for ETH, 3 otherwise). Nothing depends on what was asked before, so a test computes the
bars it expects from `final_candle` alone.

A candle still forming (`forming_candle`) carries the part of the move made so far: close =
open + elapsed fraction x (final close - open), high and low likewise (never inside the body
so far), volume scaled by the fraction (rounded down: 0 at the open). So a forming candle's
close, high, low and volume differ from the final ones, unless the move is nil.
"""

from __future__ import annotations

import hashlib
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

Candle = tuple[int, str, str, str, str, str]
"""(open time ms, open, high, low, close, volume), decimals as strings."""

INTERVAL_MS = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}
"""Binance's fixed-length kline intervals (1w and 1M, calendar-aligned, are left out)."""

TICK = Decimal("0.01")
BASE_PRICE = {"BTC": 30_000.0, "ETH": 2_000.0}
DEFAULT_BASE_PRICE = 100.0
AMOUNT_STEP = {"BTC": Decimal("0.00001"), "ETH": Decimal("0.0001")}
DEFAULT_AMOUNT_STEP = Decimal("0.001")
BASE_VOLUME_PER_MINUTE = {"BTC": 10.0, "ETH": 150.0}
DEFAULT_BASE_VOLUME_PER_MINUTE = 500.0
DRIFT_KNOT_MS = 6 * 3_600_000
DRIFT = 0.03  # the slow drift moves the price up to 3 % from its base
JITTER = 0.002  # and the jitter 0.2 % around the drift
WICK = 0.0008  # a high or low reaches up to 0.08 % of the base beyond the body


def base_asset(symbol: str) -> str:
    return symbol.split("/", 1)[0]


def amount_step(symbol: str) -> Decimal:
    return AMOUNT_STEP.get(base_asset(symbol), DEFAULT_AMOUNT_STEP)


def hashed_unit(seed: int, *parts: object) -> float:
    """A uniform number in [0, 1) hashed from the seed and the parts (stable across runs)."""
    text = "|".join(str(part) for part in (seed, *parts))
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _price_at(seed: int, symbol: str, t_ms: int) -> Decimal:
    base = BASE_PRICE.get(base_asset(symbol), DEFAULT_BASE_PRICE)
    knot, offset = divmod(t_ms, DRIFT_KNOT_MS)
    left = 2 * hashed_unit(seed, symbol, "drift", knot) - 1
    right = 2 * hashed_unit(seed, symbol, "drift", knot + 1) - 1
    drift = left + (right - left) * offset / DRIFT_KNOT_MS
    jitter = 2 * hashed_unit(seed, symbol, "jitter", t_ms) - 1
    price = base * (1 + DRIFT * drift + JITTER * jitter)
    return Decimal(price).quantize(TICK, ROUND_HALF_EVEN)


def final_candle(seed: int, symbol: str, timeframe: str, open_ms: int) -> Candle:
    """The closed candle of `symbol` opening at `open_ms` (a multiple of the interval)."""
    interval_ms = INTERVAL_MS[timeframe]
    if open_ms % interval_ms:
        raise ValueError(f"{open_ms} is not the open time of a {timeframe} candle")
    base = BASE_PRICE.get(base_asset(symbol), DEFAULT_BASE_PRICE)
    open_ = _price_at(seed, symbol, open_ms)
    close = _price_at(seed, symbol, open_ms + interval_ms)
    wick_up = Decimal(base * WICK * hashed_unit(seed, symbol, timeframe, open_ms, "high"))
    wick_down = Decimal(base * WICK * hashed_unit(seed, symbol, timeframe, open_ms, "low"))
    high = (max(open_, close) + wick_up).quantize(TICK, ROUND_HALF_EVEN)
    low = (min(open_, close) - wick_down).quantize(TICK, ROUND_HALF_EVEN)
    step = amount_step(symbol)
    per_minute = BASE_VOLUME_PER_MINUTE.get(base_asset(symbol), DEFAULT_BASE_VOLUME_PER_MINUTE)
    typical_steps = int(per_minute / float(step) * interval_ms / 60_000)
    volume = step * (
        1 + int(hashed_unit(seed, symbol, timeframe, open_ms, "volume") * 2 * typical_steps)
    )
    return (open_ms, str(open_), str(high), str(low), str(close), str(volume))


def forming_candle(final: Candle, symbol: str, timeframe: str, elapsed_ms: int) -> Candle:
    """`final` as it stands `elapsed_ms` (0 <= elapsed < interval) after its open."""
    interval_ms = INTERVAL_MS[timeframe]
    if not 0 <= elapsed_ms < interval_ms:
        raise ValueError(f"a {timeframe} candle forms for less than {interval_ms} ms")
    fraction = Decimal(elapsed_ms) / Decimal(interval_ms)
    open_, high, low, close, volume = (Decimal(value) for value in final[1:])

    def part(target: Decimal) -> Decimal:
        return (open_ + (target - open_) * fraction).quantize(TICK, ROUND_HALF_EVEN)

    close_now = part(close)
    high_now = max(open_, close_now, part(high))
    low_now = min(open_, close_now, part(low))
    volume_now = (volume * fraction).quantize(amount_step(symbol), ROUND_DOWN)
    return (final[0], str(open_), str(high_now), str(low_now), str(close_now), str(volume_now))
