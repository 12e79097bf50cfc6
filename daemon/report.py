"""`paperfund report`: a fund as of its latest snapshot, as text, charts and one HTML page.

The report reads the newest snapshot in a state directory (journal records after it are not
replayed: a fund that ended normally wrote its last snapshot at the end). It prints the same
summary as the end of a run plus every rebalance, and writes to the output directory:

- `equity.png`: fund value and reserve value over time;
- `allocation.png`: each strategy's share of the fund stacked over time, with the targets
  stacked the same way as dashed lines (`daemon.charts` says how to read them);
- `report.html`: the summary table, both charts (embedded as base64 PNGs) and the rebalance
  list, in one self-contained page that loads nothing from elsewhere.

Opening the store takes its lock, so a directory in use by a running daemon is refused.
Figures are formatted as in the end-of-run summary (`daemon.summary`): money to cents with
thousands separators, percentages to two places.
"""

from __future__ import annotations

import base64
import html
import io
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from matplotlib.figure import Figure

from core.book import FundBook
from core.money import format_amount, format_pct
from core.records import RebalanceRecord
from daemon.charts import allocation_figure, equity_figure
from daemon.engine import EngineState
from daemon.errors import DaemonError
from daemon.history import FundHistory
from daemon.persistence import StateStore, StoreError, StoreLocked
from daemon.persistence.database import DB_FILENAME
from daemon.startup import SNAPSHOT_VERSION
from daemon.summary import (
    Out,
    fund_figures,
    legend,
    print_summary,
    sharpe_header,
    strategy_figures,
)

EXIT_UNREADABLE = 2
EQUITY_PNG = "equity.png"
ALLOCATION_PNG = "allocation.png"
REPORT_HTML = "report.html"


class ReportError(DaemonError):
    """The state directory holds nothing to report on (exit code 2)."""


@dataclass(frozen=True)
class FundReport:
    name: str
    state: EngineState

    @property
    def book(self) -> FundBook:
        return self.state.book

    @property
    def history(self) -> FundHistory:
        # Snapshots written before the history existed have none: report empty charts.
        history = getattr(self.state, "history", None)
        return history if isinstance(history, FundHistory) else FundHistory()


# ---- loading -----------------------------------------------------------------------------
def load_state(state_dir: Path) -> EngineState:
    """The engine state in the newest snapshot of `state_dir`; `ReportError` if none."""
    return load_snapshot(state_dir)[0]


def load_snapshot(state_dir: Path) -> tuple[EngineState, str | None]:
    """The engine state in the newest snapshot of `state_dir` and the fund's name it holds
    (None when written before snapshots held it); `ReportError` if there is none."""
    if not state_dir.is_dir():
        raise ReportError(f"no state directory at {state_dir}")
    if not (state_dir / DB_FILENAME).is_file():
        raise ReportError(f"{state_dir} holds no fund state ({DB_FILENAME} is missing)")
    try:
        with StateStore.open(state_dir) as store:
            snapshot = store.latest_snapshot()
    except StoreLocked:
        raise ReportError(f"{state_dir} is in use by a running daemon") from None
    except StoreError as exc:
        raise ReportError(f"cannot read {state_dir}: {exc}") from None
    if snapshot is None:
        raise ReportError(f"no snapshot in {state_dir} yet: run the fund first")
    blob = pickle.loads(snapshot.payload)
    if blob.get("version") != SNAPSHOT_VERSION:
        raise ReportError(f"snapshot version {blob.get('version')!r} is not supported")
    state: EngineState = blob["engine"]
    fund = blob.get("fund")
    return state, fund if isinstance(fund, str) else None


# ---- text --------------------------------------------------------------------------------
def print_report(report: FundReport, out: Out = print) -> None:
    print_summary(report.book, report.name, out)
    out(f"as of slice {report.state.slice_index} ({report.book.current_timestamp})")
    out(f"rebalance list ({len(report.book.rebalances)}):")
    for i, record in enumerate(report.book.rebalances, 1):
        before = format_amount(record.fund_value_before)
        after = format_amount(record.fund_value_after)
        costs = format_amount(record.costs)
        out(f"  #{i} {record.ts}  {record.reason}  costs {costs}  fund {before} -> {after}")
        out(f"     {'  '.join(_weight_changes(record))}")


def _weight_changes(record: RebalanceRecord) -> list[str]:
    ids = list(dict.fromkeys([*record.weights_before, *record.weights_after]))
    changes = []
    for sid in ids:
        before = format_pct(record.weights_before.get(sid, 0))
        after = format_pct(record.weights_after.get(sid, 0))
        moved = record.transfers.get(sid)
        sign = "+" if moved is not None and moved > 0 else ""
        transfer = f" ({sign}{format_amount(moved)})" if moved is not None else ""
        skipped = record.skipped.get(sid)
        if skipped is not None:
            sign = "+" if skipped > 0 else ""
            transfer += f" (skipped {sign}{format_amount(skipped)}: below min_transfer_pct)"
        changes.append(f"{sid} {before} -> {after}{transfer}")
    return changes


# ---- charts ------------------------------------------------------------------------------
def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


# ---- html --------------------------------------------------------------------------------
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 1em 0; }
td { font-variant-numeric: tabular-nums; }
th.text, td.text { text-align: left; white-space: pre-line; }
.note { color: #555; font-size: 0.9em; max-width: 60em; }
"""


def _table(
    header: Sequence[str], rows: Sequence[Sequence[object]], text: Sequence[int] = ()
) -> str:
    """Figures align right; the columns numbered in `text` are words, left-aligned, with a
    line break wherever a cell has one."""
    kinds = ["text" if i in text else "" for i in range(len(header))]
    head = "".join(_cell("th", h, k) for h, k in zip(header, kinds, strict=True))
    body = "".join(
        "<tr>" + "".join(_cell("td", c, k) for c, k in zip(row, kinds, strict=True)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(tag: str, content: object, kind: str) -> str:
    attribute = f" class='{kind}'" if kind else ""
    return f"<{tag}{attribute}>{html.escape(str(content))}</{tag}>"


def _summary_html(book: FundBook) -> str:
    fund = fund_figures(book)
    sharpe = sharpe_header(book)
    fund_header = ["fund value", "return", "reserve", "cash", "strategies", "running"]
    fund_row = [fund.value, fund.return_, fund.reserve, fund.cash, fund.strategies, fund.running]
    fund_table = _table(
        [*fund_header, f"value-weighted {sharpe}"], [[*fund_row, fund.weighted_sharpe]]
    )
    header = ["strategy", "value", "return (time-weighted)", "return on capital", sharpe]
    header += ["max dd", "weight", "target", "state"]
    rows = [
        [r.strategy_id, r.value, r.return_, r.return_on_capital, r.sharpe, r.max_drawdown, *tail]
        for r in strategy_figures(book)
        for tail in [(r.weight, r.target, r.state)]
    ]
    notes = html.escape(" ".join(legend(book)))
    return f"{fund_table}{_table(header, rows, text=(8,))}<p class='note'>{notes}</p>"


def _rebalances_html(records: Sequence[RebalanceRecord]) -> str:
    if not records:
        return "<p>No rebalances.</p>"
    rows = [
        [i, r.ts, r.reason, format_amount(r.costs), format_amount(r.fund_value_after), changes]
        for i, r in enumerate(records, 1)
        for changes in ["\n".join(_weight_changes(r))]
    ]
    header = ["#", "time", "reason", "costs", "fund after", "weights (transfer)"]
    return _table(header, rows, text=(1, 2, 5))


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def report_html(report: FundReport, equity_png: bytes, allocation_png: bytes) -> str:
    name = html.escape(report.name)
    book = report.book
    as_of = html.escape(f"slice {report.state.slice_index} ({book.current_timestamp})")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>paperfund report: {name}</title><style>{STYLE}</style></head><body>"
        f"<h1>Fund {name}</h1><p>As of {as_of}.</p>"
        f"<h2>Summary</h2>{_summary_html(book)}"
        f"<h2>Equity</h2>{_img(equity_png, 'fund value and reserve over time')}"
        f"<h2>Allocation</h2>{_img(allocation_png, 'weights over time')}"
        f"<h2>Rebalances ({len(book.rebalances)})</h2>{_rebalances_html(book.rebalances)}"
        "</body></html>\n"
    )


# ---- the command -------------------------------------------------------------------------
def write_report(report: FundReport, out_dir: Path) -> list[Path]:
    """Write the charts and the page into `out_dir`; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    equity = png_bytes(equity_figure(report.history, report.name))
    allocation = png_bytes(allocation_figure(report.history, report.name))
    files = {
        out_dir / EQUITY_PNG: equity,
        out_dir / ALLOCATION_PNG: allocation,
        out_dir / REPORT_HTML: report_html(report, equity, allocation).encode("utf-8"),
    }
    for path, data in files.items():
        path.write_bytes(data)
    return list(files)


def run_report(
    state_dir: Path,
    out_dir: Path | None = None,
    *,
    name: str | None = None,
    out: Out = print,
    err: TextIO | None = None,
) -> int:
    """`paperfund report`: 0 when written, 2 when the state directory cannot be read."""
    err = sys.stderr if err is None else err
    try:
        state, fund = load_snapshot(state_dir)
    except ReportError as exc:
        print(f"paperfund: report: {exc}", file=err)
        return EXIT_UNREADABLE
    # Snapshots written before they held the fund's name: the directory's is the best default.
    report = FundReport(name=name or fund or state_dir.resolve().name, state=state)
    print_report(report, out)
    for path in write_report(report, state_dir if out_dir is None else out_dir):
        out(f"wrote {path}")
    return 0
