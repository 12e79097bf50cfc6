"""The replay example's fund, to the last digit: the state digest (`daemon.digest`: every
ledger with its orders, every book record, every performance tracker, the rebalance records)
and the statistics computed from it after the first two years of `replay-daily.yaml` equal
the values recorded here. Any change to the order path, fills, marking, statistics or
allocation that moves a single number fails this test; update the literals only for a change
meant to alter results, and say so in its commit.

`paperfund run --config` on the same trimmed file prints the same `state digest:` line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from config import load_settings
from tests.support.fund import ROOT, Fund, demo_slices

END = "2001-12-31"
DIGEST = "71339835c08547a9b3bb641415e3992aec51b5148ab236c142b419ba332740d3"
STATISTICS = "b1ff17001032fb371501860793ccf0c3da45b0335bb9e7ae8a4ad84d12d4e9c5"


def trimmed_example(tmp_path: Path) -> Path:
    """replay-daily.yaml up to END, with its data paths made absolute."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "config/examples/replay-daily.yaml").read_text())
    data["feed"]["paths"] = {s: str(ROOT / p) for s, p in data["feed"]["paths"].items()}
    data["feed"]["end"] = END
    data["state"]["dir"] = str(tmp_path / "state")
    path = tmp_path / "replay.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def test_the_replay_example_gives_the_recorded_digest(tmp_path: Path) -> None:
    settings = load_settings(trimmed_example(tmp_path), env={})
    async with Fund(settings, tmp_path / "state") as fund:
        slices = await demo_slices(settings)
        for market in slices:
            await fund.sup.process(market)
        book = fund.sup._engine.book
        assert len(slices) > 400 and len(book.rebalances) > 2  # the run trades and rebalances
        for sid, worker in fund.sup._engine.workers.items():
            ledger = await worker.ledger_state()
            assert ledger["next_order_id"] > 5 and ledger["total_commission"] != "0", sid
        metrics = {sid: rec.performance.get_metrics() for sid, rec in book.records.items()}
        statistics = hashlib.sha256(json.dumps(metrics, sort_keys=True, default=str).encode())
        assert (await fund.digest(), statistics.hexdigest()) == (DIGEST, STATISTICS)
