"""`check-config` of a ccxt feed, from ccxt's own metadata and without a request: the
exchange id, the symbols' BASE/QUOTE form and the exchange's timeframes; and a clear word
when ccxt is not installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import EXAMPLES_DIR
from daemon.feeds.ccxt_meta import INSTALL_HINT, check_ccxt, parse_timeframe_s
from daemon.feeds.errors import FeedConfigError

LIVE = EXAMPLES_DIR / "live-ccxt.yaml"


def test_the_shipped_live_example_passes_offline() -> None:
    assert check_ccxt("binance", ["BTC/USDT", "ETH/USDT"], "1m") == []
    done = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "check-config", str(LIVE)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "ok (3 strategies)" in done.stdout


def test_a_misspelt_exchange_is_named_with_the_ids_it_may_mean() -> None:
    problems = check_ccxt("binanse", ["BTC/USDT"], "1m")
    assert problems == [
        (
            "feed.exchange",
            "ccxt has no exchange 'binanse'; did you mean binance, binancecoinm, binanceus, "
            "binanceusdm, bingx?",
        )
    ]


def test_symbols_must_be_base_slash_quote_and_timeframes_the_exchanges() -> None:
    problems = check_ccxt("kraken", ["BTCUSDT", "ETH/USD", "eth/usd"], "2m")
    assert [setting for setting, _ in problems] == [
        "feed.symbols",
        "feed.symbols",
        "feed.timeframe",
    ]
    assert "'BTCUSDT' is not a BASE/QUOTE symbol" in problems[0][1]
    assert "'eth/usd'" in problems[1][1]
    assert problems[2][1].startswith("kraken has no timeframe '2m' (it has ['1m', '5m'")


def test_a_calendar_month_is_refused_even_where_the_exchange_has_it() -> None:
    assert check_ccxt("binance", ["BTC/USDT"], "1M") == [
        (
            "feed.timeframe",
            "timeframe must be a number and one of s, m, h, d, w (1m, 4h, 1d), got '1M'",
        )
    ]
    assert parse_timeframe_s("15m") == 900.0
    assert parse_timeframe_s("1w") == 604800.0
    with pytest.raises(FeedConfigError, match="got '0m'"):
        parse_timeframe_s("0m")


def test_without_ccxt_check_config_says_which_extra_to_install(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['ccxt'] = None; sys.modules['ccxt.async_support'] = None\n"
        "from daemon.cli import main\n"
        f"sys.exit(main(['check-config', {str(LIVE)!r}]))\n"
    )
    command = [sys.executable, "-c", script]
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert f"feed.kind: {INSTALL_HINT}" in done.stderr
