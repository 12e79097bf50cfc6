"""The report's charts read at a glance: money axes with thousands separators, a value axis
never stretches a cent of rounding to full height, the allocation legend hides no data and
the target lines are drawn above the bands in a colour of their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import cast

import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from core.book import FundBook
from daemon.charts import (
    MIN_SPAN_FRACTION,
    MIN_SPAN_MONEY,
    TARGET_LABEL,
    MoneyFormatter,
    allocation_figure,
    equity_figure,
    money_tick,
)
from daemon.history import FundHistory

START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Record:
    value: Decimal
    target_weight: Decimal


@dataclass
class Reserve:
    portfolio_value: Decimal


@dataclass
class Book:
    """What the history reads of a `FundBook`."""

    reserve: Reserve
    records: dict[str, Record] = field(default_factory=dict)
    targets_version: object = field(default_factory=object)  # a new book each day


def history_of(points: list[tuple[str, dict[str, tuple[str, str]]]]) -> FundHistory:
    """(reserve, {strategy: (value, target)}) per day."""
    history = FundHistory()
    for day, (reserve, strategies) in enumerate(points):
        book = Book(
            Reserve(Decimal(reserve)),
            {sid: Record(Decimal(v), Decimal(t)) for sid, (v, t) in strategies.items()},
        )
        history.record(START + timedelta(days=day), cast(FundBook, book))
    return history


def two_strategies(days: int = 300) -> FundHistory:
    points = []
    for day in range(days):
        a = 500_000 + 1_000 * (day % 40)
        b = 499_999.98 - 800 * (day % 25)
        reserve = "0.02" if day % 3 else "0.01"  # one cent of rounding, nothing else
        points.append((reserve, {"a": (str(a), "0.5"), "b": (f"{b:.2f}", "0.5")}))
    return history_of(points)


def drawn(fig: Figure) -> Figure:
    fig.canvas.draw()
    return fig


def labels(axis: object) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]  # type: ignore[attr-defined]


def test_money_ticks_are_thousands_separated() -> None:
    formatter = MoneyFormatter()
    assert formatter.format_ticks([950_000.0, 1_000_000.0, 1_250_000.0]) == [
        "950,000",
        "1,000,000",
        "1,250,000",
    ]
    assert formatter.format_ticks([0.5, 1.0, 1.5]) == ["0.50", "1.00", "1.50"]
    assert money_tick(-0.0) == "0" and money_tick(-0.001, 2) == "0.00"
    assert money_tick(-12_345.0) == "-12,345"


def test_value_axes_have_thousands_separators() -> None:
    fig = drawn(equity_figure(two_strategies(), "f"))
    fund_ax, reserve_ax = fig.axes
    ticks = labels(fund_ax.yaxis)
    assert ticks and all("," in t for t in ticks if abs(float(t.replace(",", ""))) >= 1000)
    assert any("," in t for t in labels(reserve_ax.yaxis))


def test_a_cent_of_rounding_in_the_reserve_is_drawn_flat() -> None:
    history = two_strategies()
    fig = drawn(equity_figure(history, "f"))
    reserve_ax = fig.axes[1]
    low, high = reserve_ax.get_ylim()
    floor = max(MIN_SPAN_MONEY, MIN_SPAN_FRACTION * max(history.fund_value))
    assert high - low >= floor * (1 - 1e-9)
    assert low <= 0.01 and high >= 0.02
    assert low > -0.1 * (high - low)  # a reserve never below 0 is not centred on 0


def test_an_axis_that_moves_more_than_the_floor_is_left_to_autoscale() -> None:
    points = [(str(50_000 + 1_000 * d), {"a": ("900000", "0.9")}) for d in range(50)]
    fig = drawn(equity_figure(history_of(points), "f"))
    low, high = fig.axes[1].get_ylim()
    assert low > 45_000 and high < 105_000  # fits the data, not widened


def test_the_allocation_legend_is_outside_the_plot() -> None:
    fig = drawn(allocation_figure(two_strategies(), "f"))
    (ax,) = fig.axes
    assert not ax.get_legend()
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["a", "b", TARGET_LABEL]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    box, plot = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.y1 <= plot.y0  # below the axes, overlapping nothing drawn in them
    figure = fig.bbox
    assert figure.x0 <= box.x0 and box.x1 <= figure.x1 and box.y0 >= figure.y0


def test_target_lines_are_on_top_in_their_own_colour() -> None:
    fig = drawn(allocation_figure(two_strategies(), "f"))
    (ax,) = fig.axes
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    targets = [line for line in ax.get_lines() if line.get_gid() == "target"]
    assert len(bands) == len(targets) == 2
    assert min(t.get_zorder() for t in targets) > max(b.get_zorder() for b in bands)
    for band, target in zip(bands, targets, strict=True):
        band_rgb = to_rgb(band.get_facecolor()[0])
        target_rgb = to_rgb(target.get_color())
        assert target_rgb != pytest.approx(band_rgb, abs=0.05)
        assert target.get_linewidth() >= 1.5 and target.get_linestyle() != "-"
    top = max(max(t.get_ydata()) for t in targets)  # type: ignore[type-var]
    assert ax.get_ylim()[1] > top  # a target of 100 % is not cut in half by the frame


def test_the_allocation_chart_explains_itself() -> None:
    fig = drawn(allocation_figure(two_strategies(), "f"))
    (ax,) = fig.axes
    note = ax.get_title(loc="left")
    assert "stacked" in note and "reserve" in note and "target" in note
    assert ax.get_ylabel() == "share of the fund"
    low, high = ax.get_ylim()
    shown = [tick for tick in ax.get_yticks() if low <= tick <= high]
    assert shown[-1] == pytest.approx(1.0)
    assert ax.yaxis.get_major_formatter()(shown[-1]) == "100%"


def test_empty_history_draws_without_data() -> None:
    for figure in (equity_figure, allocation_figure):
        fig = drawn(figure(FundHistory(), "f"))
        assert "no slices recorded" in [t.get_text() for ax in fig.axes for t in ax.texts]


def test_a_target_line_is_a_line2d() -> None:
    fig = allocation_figure(two_strategies(5), "f")
    assert all(isinstance(line, Line2D) for line in fig.axes[0].get_lines())
