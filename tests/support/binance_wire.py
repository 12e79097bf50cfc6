"""What Binance's spot REST API answers look like, for the fake server
(`tests/support/fake_exchange.py`): exchangeInfo, kline rows and error bodies, as documented
for `GET /api/v3/exchangeInfo` and `GET /api/v3/klines` and as ccxt's binance parses them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

from aiohttp import web

from tests.support.fake_candles import INTERVAL_MS, Candle, amount_step, hashed_unit

API_PATHS = {
    "public": "/api/v3",
    "private": "/api/v3",
    "v1": "/api/v1",
    "sapi": "/sapi/v1",
    "sapiV2": "/sapi/v2",
    "sapiV3": "/sapi/v3",
    "sapiV4": "/sapi/v4",
    "dapiPublic": "/dapi/v1",
    "dapiPrivate": "/dapi/v1",
    "dapiPrivateV2": "/dapi/v2",
    "dapiData": "/dapi/futures/data",
    "eapiPublic": "/eapi/v1",
    "eapiPrivate": "/eapi/v1",
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/fapi/futures/data",
    "papi": "/papi/v1",
    "papiV2": "/papi/v2",
}
"""Every key of ccxt binance's `urls["api"]` (ccxt 4.5), with the path of its real URL (the
two `futures/data` ones, on separate hosts there, get a prefix to stay apart)."""

JSON_TYPE = "application/json;charset=UTF-8"
WIRE_PLACES = Decimal("0.00000001")  # Binance writes every decimal with 8 places
TRADE_SIZE_STEPS = 200  # an average trade is 200 lot steps
CDN_PAGE = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}"
    "</h1></center><hr><center>CloudFront</center></body></html>"
)


def market_id(symbol: str) -> str:
    """Binance's id of a unified symbol: "BTC/USDT" -> "BTCUSDT"."""
    return symbol.replace("/", "")


def exchange_options(url: str, *, timeout_ms: int = 10_000) -> dict[str, Any]:
    """Constructor options for `ccxt.binance` / `ccxt.async_support.binance` that make it talk
    to the server at `url` only and load spot markets only.

    ccxt merges these into its defaults key by key, so every key of `urls["api"]` is replaced
    (one left out would still point at the real exchange). `fetchMarkets.types` is ["spot"]
    (the default also asks the fapi and dapi exchangeInfo); currencies and margin pairs are
    fetched only with API keys, and are turned off here all the same. `timeout_ms` bounds each
    request; the rate limiter stays on with a 1 ms unit, so it hardly ever waits.
    """
    return {
        "urls": {"api": {key: url + path for key, path in API_PATHS.items()}},
        "options": {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "adjustForTimeDifference": False,
            "defaultType": "spot",
        },
        "timeout": timeout_ms,
        "enableRateLimit": True,
        "rateLimit": 1,
    }


def _wire(value: Decimal) -> str:
    return str(value.quantize(WIRE_PLACES, ROUND_HALF_EVEN))


def kline_row(seed: int, symbol: str, timeframe: str, candle: Candle) -> list[Any]:
    """`candle` as `GET /api/v3/klines` writes one: [open time, open, high, low, close,
    volume, close time (open + interval - 1), quote volume, trades, taker buy base volume,
    taker buy quote volume, "0"], decimals as strings with 8 places."""
    open_ms = candle[0]
    open_, high, low, close, volume = (Decimal(value) for value in candle[1:])
    average = (open_ + high + low + close) / 4
    step = amount_step(symbol)
    taker_share = Decimal(0.3 + 0.4 * hashed_unit(seed, symbol, timeframe, open_ms, "taker"))
    taker_base = (volume * taker_share).quantize(step, ROUND_DOWN)
    trades = int((volume / (step * TRADE_SIZE_STEPS)).to_integral_value(ROUND_DOWN))
    if volume > 0:
        trades += 1
    return [
        open_ms,
        _wire(open_),
        _wire(high),
        _wire(low),
        _wire(close),
        _wire(volume),
        open_ms + INTERVAL_MS[timeframe] - 1,
        _wire(volume * average),
        trades,
        _wire(taker_base),
        _wire(taker_base * average),
        "0",
    ]


def _symbol_info(symbol: str) -> dict[str, Any]:
    base, quote = symbol.split("/", 1)
    step = f"{amount_step(symbol):.8f}"
    return {
        "symbol": market_id(symbol),
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01000000",
                "maxPrice": "1000000.00000000",
                "tickSize": "0.01000000",
            },
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000.00000000", "stepSize": step},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.00000000",
                "maxQty": "100.00000000",
                "stepSize": "0.00000000",
            },
            {
                "filterType": "TRAILING_DELTA",
                "minTrailingAboveDelta": 10,
                "maxTrailingAboveDelta": 2000,
                "minTrailingBelowDelta": 10,
                "maxTrailingBelowDelta": 2000,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(symbols: Sequence[str], now_ms: int) -> dict[str, Any]:
    """The body of `GET /api/v3/exchangeInfo` listing `symbols`, all TRADING."""
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": 61000,
            },
        ],
        "exchangeFilters": [],
        "symbols": [_symbol_info(symbol) for symbol in symbols],
    }


def error_response(status: int, code: int, msg: str) -> web.Response:
    """Binance's own error answer: {"code": -1121, "msg": "Invalid symbol."}."""
    body = json.dumps({"code": code, "msg": msg})
    return web.Response(status=status, text=body, headers={"Content-Type": JSON_TYPE})


def fault_response(status: int, retry_after_s: float | None, now_ms: int) -> web.Response:
    """What Binance, or the CDN in front of it, answers with `status`: 429 and 418 with their
    -1003 body (and Retry-After in whole seconds when given), 500 with an empty body, anything
    else with the CDN's HTML page."""
    headers = {} if retry_after_s is None else {"Retry-After": str(math.ceil(retry_after_s))}
    if status == 429:
        msg = "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute."
    elif status == 418:
        banned_until = now_ms + math.ceil((retry_after_s or 120) * 1000)
        msg = f"Way too many requests; IP(127.0.0.1) banned until {banned_until}."
    elif status == 500:
        return web.Response(status=status, body=b"", headers=headers)
    else:
        reason = web.Response(status=status).reason
        page = CDN_PAGE.format(status=status, reason=reason)
        return web.Response(status=status, text=page, content_type="text/html", headers=headers)
    body = json.dumps({"code": -1003, "msg": msg})
    return web.Response(status=status, text=body, headers={"Content-Type": JSON_TYPE, **headers})
