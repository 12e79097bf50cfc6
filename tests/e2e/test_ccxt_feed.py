"""The real daemon on the ccxt feed, polling a fake Binance server in another process (real
ccxt, real HTTP on loopback, the real clock, one-second candles).

SIGKILLed at random points while it polls and restarted each time, it processes every candle
exactly once: its journal holds one slice per second from its first to its last, each bar
the exchange's final candle, and its state digest equals that of a fund that replays the
same candles from files without interruption. When the exchange goes away `/readyz` reports
the feed stale and the error counters count, and once it is back the fund catches up."""

from __future__ import annotations

import csv
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from core.market import Slice
from daemon.feeds.candles import to_ms
from daemon.persistence.codec import decode_slice
from tests.support.daemon_process import Daemon, cli, env_for, wait_for_slices
from tests.support.fake_candles import final_candle
from tests.support.fake_exchange_process import FakeExchangeProcess
from tests.support.redis_server import free_port

SYMBOLS = ("BTC/USDT", "ETH/USDT")
SEED = 1
SECOND_MS = 1000
WARMUP = 3
WAIT_S = 60.0


def write_config(path: Path, feed: dict[str, Any]) -> Path:
    settings = {
        "fund": {"name": "ccxt-e2e", "capital": 100000},
        "feed": feed,
        "ledger": {"fill": {"kind": "next_bar", "params": {"lot_size": "0.001"}}},
        # snapshots now and then, and the whole journal kept, to read every slice back
        "state": {"snapshot_every": 15, "keep_snapshots": 1000, "fsync": "every_slice"},
    }
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def ccxt_feed(exchange: FakeExchangeProcess) -> dict[str, Any]:
    return {
        "kind": "ccxt",
        "exchange": "binance",
        "exchange_options": exchange.exchange_options(timeout_ms=2_000),
        "symbols": list(SYMBOLS),
        "timeframe": "1s",
        "warmup_bars": WARMUP,
        "grace_period_s": 2.0,
        "settle_s": 0.3,
        "poll_interval_s": 0.2,
        "backoff_s": 0.1,
        "max_backoff_s": 1.0,
    }


def journal(state: Path) -> list[Slice]:
    db = state / "state.sqlite3"
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        rows = conn.execute("SELECT payload FROM journal WHERE kind = 'slice' ORDER BY seq")
        return [decode_slice(payload) for (payload,) in rows]


def check_every_candle_once(slices: list[Slice]) -> None:
    stamps = [to_ms(s.ts) for s in slices]
    assert stamps == list(range(stamps[0], stamps[-1] + 1, SECOND_MS)), "a gap or a repeat"
    for market in slices:
        assert sorted(market) == list(SYMBOLS), market
        for symbol in SYMBOLS:
            _, *final = final_candle(SEED, symbol, "1s", to_ms(market.ts) - SECOND_MS)
            bar = market[symbol]
            got = (bar.open, bar.high, bar.low, bar.close, bar.volume)
            assert got == tuple(map(Decimal, final)), (market.ts, symbol)


def digest(output: str) -> str:
    (line,) = [ln for ln in output.splitlines() if ln.startswith("state digest: ")]
    return line.removeprefix("state digest: ")


def replay_digest(tmp: Path, slices: list[Slice]) -> str:
    """The digest of a fund that replays `slices` from CSV files, uninterrupted. Values are
    written as the ccxt feed read them: the shortest repr of ccxt's float."""
    paths = {}
    for symbol in SYMBOLS:
        path = paths[symbol] = tmp / f"{symbol.replace('/', '-')}.csv"
        with path.open("w", newline="") as out:
            rows = csv.writer(out)
            rows.writerow(["date", "open", "high", "low", "close", "volume"])
            for market in slices:
                bar = market[symbol]
                values = (bar.open, bar.high, bar.low, bar.close, bar.volume)
                rows.writerow([market.ts.isoformat(), *map(str, values)])
    files = {symbol: str(path) for symbol, path in paths.items()}
    config = write_config(tmp / "replay.yaml", {"kind": "replay", "paths": files})
    done = cli("run", "--config", str(config), env=env_for(tmp / "replay-state"))
    assert done.returncode == 0, done.stderr
    return digest(done.stdout)


def readyz(daemon: Daemon) -> tuple[int, dict[str, Any]]:
    port = daemon.event("http api listening")["port"]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def metrics(daemon: Daemon) -> str:
    port = daemon.event("http api listening")["port"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text: str = reply.read().decode()
    return text


def feed_errors(text: str) -> dict[str, float]:
    """`paperfund_feed_errors_total` by kind."""
    found = {}
    for line in text.splitlines():
        if line.startswith("paperfund_feed_errors_total{"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split('kind="')[1].split('"')[0]] = float(value)
    return found


def promtool_accepts(text: str) -> None:
    tool = shutil.which("promtool")
    assert tool is not None, "tests/run.sh installs promtool (Debian package prometheus)"
    done = subprocess.run(
        [tool, "check", "metrics"], input=text.encode(), capture_output=True, check=False
    )
    assert done.returncode == 0, (done.stdout + done.stderr).decode()


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_sigkills_while_polling_lose_and_repeat_no_candle(tmp_path: Path) -> None:
    state = tmp_path / "state"
    rng = random.Random(11)
    with FakeExchangeProcess(SYMBOLS, seed=SEED) as exchange:
        config = write_config(tmp_path / "live.yaml", ccxt_feed(exchange))
        env = env_for(state)
        seen = 0
        for _ in range(5):
            daemon = Daemon(env, "--config", str(config)).wait_ready()
            seen += rng.randint(2, 5)
            wait_for_slices(state, WARMUP + seen)  # the warm-up, then some live candles
            time.sleep(rng.uniform(0.0, 1.0))  # a random point of the polling cycle
            assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
            # down for longer than the warm-up: only resuming after the journal's last
            # slice fetches every candle missed meanwhile
            time.sleep(rng.uniform(WARMUP + 1, WARMUP + 3))
        daemon = Daemon(env, "--config", str(config)).wait_ready()
        wait_for_slices(state, WARMUP + seen + 3)
        assert daemon.stop() == 0, "".join(daemon.lines[-20:])
    slices = journal(state)
    assert len(slices) >= WARMUP + seen + 3
    check_every_candle_once(slices)
    assert digest("".join(daemon.out)) == replay_digest(tmp_path, slices)


def test_a_vanished_exchange_makes_the_feed_stale_then_the_fund_catches_up(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    port = free_port()
    exchange = FakeExchangeProcess(SYMBOLS, seed=SEED, port=port)
    exchange.start()
    try:
        config = write_config(tmp_path / "live.yaml", ccxt_feed(exchange))
        env = env_for(state)
        daemon = Daemon(env, "--config", str(config)).wait_ready()
        wait_until(lambda: readyz(daemon)[0] == 200, "ready")
        exchange.stop()
        status, body = 0, {}
        deadline = time.monotonic() + WAIT_S
        while status != 503:  # stale after 2 timeframes + grace + longest backoff: 5 s
            assert time.monotonic() < deadline, "the feed never turned stale"
            status, body = readyz(daemon)
            time.sleep(0.1)
        assert body["checks"]["feed"]["ok"] is False, body
        exposition = metrics(daemon)
        assert feed_errors(exposition)["unavailable"] > 0  # nothing listens: refused
        assert 'paperfund_feed_last_bar_timestamp_seconds{symbol="ETH/USDT"}' in exposition
        promtool_accepts(exposition)
        before = len(journal(state))
        exchange = FakeExchangeProcess(SYMBOLS, seed=SEED, port=port)
        exchange.start()
        wait_until(lambda: readyz(daemon)[0] == 200, "ready again")
        wait_for_slices(state, before + 3)
        assert daemon.stop() == 0
    finally:
        exchange.stop()
    check_every_candle_once(journal(state))
