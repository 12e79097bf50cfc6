"""The end-of-run summary and the report page as people read them: one header per column,
right-aligned over its figures; money to cents with thousands separators; percentages to two
places; the Sharpe ratio's window named; the rebalances listed said to be the last ones."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.allocator import PortfolioAllocator
from core.records import RebalanceRecord
from daemon.demo import run_demo
from daemon.report import _rebalances_html, _summary_html, _weight_changes
from daemon.summary import RECENT_REBALANCES, print_summary, rebalance_line

COLUMNS = ["value", "return", "return on capital", "Sharpe (252)", "max dd", "weight"]
MONEY = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2}$")
PERCENT = re.compile(r"^-?\d+\.\d{2}%$")


@pytest.fixture(scope="module")
def demo() -> tuple[PortfolioAllocator, list[str]]:
    lines: list[str] = []
    fund = run_demo(bars=200, out=lines.append)
    return fund, lines


def _table(lines: list[str]) -> tuple[str, list[str]]:
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("strategy "))
    rows = [line for line in lines[start + 1 :] if line.startswith("  ") and "%" in line]
    return lines[start], rows[:3]


def test_each_header_ends_where_its_figures_end(demo: tuple[PortfolioAllocator, list[str]]) -> None:
    header, rows = _table(demo[1])
    ends, at = [], 0
    for name in COLUMNS:
        at = header.index(name, at) + len(name)
        ends.append(at)
    assert header[ends[-1] :].split() == ["state"]
    assert len(rows) == 3
    for row in rows:
        cells = list(re.finditer(r"\S+", row))
        assert [m.end() for m in cells[1:7]] == ends, (header, row)
        value, ret, on_capital, sharpe, max_dd, weight = (m.group() for m in cells[1:7])
        assert MONEY.match(value), row
        assert all(PERCENT.match(p) for p in (ret, max_dd, weight)), row
        assert PERCENT.match(on_capital) or on_capital == "n/a", row
        assert re.fullmatch(r"-?\d+\.\d{2}", sharpe), row


def test_the_summary_says_what_each_figure_covers(
    demo: tuple[PortfolioAllocator, list[str]],
) -> None:
    text = "\n".join(demo[1])
    assert re.search(
        r"^fund demo: value \d{1,3}(,\d{3})*\.\d{2}  return -?\d+\.\d{2}%$", text, re.M
    )
    covered = "return: time-weighted (transfers excluded) and max dd (drawdown): over the whole run"
    assert covered in text
    assert "Sharpe (252): annualised, over the last 252 returns" in text
    assert "value-weighted Sharpe (252) " in text


def test_the_rebalances_listed_are_said_to_be_the_last_ones(
    demo: tuple[PortfolioAllocator, list[str]],
) -> None:
    fund, lines = demo
    count = len(fund.book.rebalances)
    assert count > RECENT_REBALANCES
    at = lines.index(f"rebalances: {count}, the last {RECENT_REBALANCES}:")
    listed = lines[at + 1 :]
    assert len(listed) == RECENT_REBALANCES
    assert listed == [f"  {rebalance_line(r)}" for r in fund.book.rebalances[-RECENT_REBALANCES:]]


def test_a_short_list_of_rebalances_is_the_whole_list() -> None:
    lines: list[str] = []
    fund = run_demo(bars=40, out=lines.append)
    count = len(fund.book.rebalances)
    assert 0 < count <= RECENT_REBALANCES
    assert f"rebalances: {count}:" in lines
    lines.clear()
    fund.book.rebalances.clear()
    print_summary(fund.book, "demo", lines.append)
    assert lines[-1] == "rebalances: 0"


def _record(costs: str) -> RebalanceRecord:
    return RebalanceRecord(
        ts=datetime(2024, 1, 2, tzinfo=UTC),
        reason="Monthly rebalancing",
        weights_before={"a": Decimal("0E-10"), "b": Decimal("0.2374999999999999999999999999")},
        weights_after={"a": Decimal("0.25"), "b": Decimal("0.2375000000")},
        targets={"a": Decimal("0.25"), "b": Decimal("0.2375")},
        transfers={"a": Decimal("250000.000000")},
        costs=Decimal(costs),
        fund_value_before=Decimal("1000000"),
        fund_value_after=Decimal("1000000") - Decimal(costs),
    )


@pytest.mark.parametrize(
    ("costs", "shown"),
    [("0", "0.00"), ("0.00", "0.00"), ("5.820000", "5.82"), ("1234.5", "1,234.50")],
)
def test_rebalance_costs_are_money_to_cents(costs: str, shown: str) -> None:
    assert rebalance_line(_record(costs)).endswith(f"  costs {shown}")


def test_rebalance_weights_have_two_places() -> None:
    changes = _weight_changes(_record("0"))
    assert changes == ["a 0.00% -> 25.00% (+250,000.00)", "b 23.75% -> 23.75%"]


def test_the_report_page_has_the_same_figures_and_names_the_sharpe_window(
    demo: tuple[PortfolioAllocator, list[str]],
) -> None:
    page = _summary_html(demo[0].book)
    headers = re.findall(r"<th>([^<]*)</th>", page)
    assert "return (time-weighted)" in headers and "return on capital" in headers
    assert "Sharpe (252)" in headers and "value-weighted Sharpe (252)" in headers
    assert "over the last 252 returns" in page
    cells = re.findall(r"<td>([^<]*)</td>", page)
    _, rows = _table(demo[1])
    for row in rows:  # the page shows what the text shows
        for cell in row.split()[1:7]:
            assert cell in cells


def test_the_page_lists_rebalances_with_words_left_and_one_weight_per_line() -> None:
    page = _rebalances_html([_record("5.820000")])
    assert "<td class='text'>Monthly rebalancing</td><td>5.82</td><td>999,994.18</td>" in page
    assert "<td class='text'>a 0.00% -&gt; 25.00% (+250,000.00)\nb 23.75% -&gt; 23.75%</td>" in page
