"""The report's charts, drawn with matplotlib's Agg canvas (no display needed).

- `equity_figure`: fund value above, reserve below. Money axes have thousands separators,
  and a value axis always spans at least `MIN_SPAN_FRACTION` of the fund's peak value, so a
  cent of rounding is drawn as the flat line it is, not at full height.
- `allocation_figure`: each strategy's share of the fund as stacked bands, and the targets
  of the last rebalance stacked the same way as dashed lines in a darker shade of the band's
  colour, drawn above the bands: where a dashed line leaves its band's top edge, the
  strategy has drifted from its target. The space above the bands is the reserve. The
  legend sits below the plot, where it hides nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import Formatter, MultipleLocator, PercentFormatter

from daemon.history import FundHistory

FIGURE_SIZE_IN = (9.0, 4.0)
ALLOCATION_SIZE_IN = (9.0, 4.8)
FIGURE_DPI = 100
MIN_SPAN_FRACTION = 0.01
"""A money axis spans at least this fraction of the fund's peak value..."""
MIN_SPAN_MONEY = 1.0
"""...and at least this much money, whatever the fund's size."""
FLOOR_MARGIN = 0.05
"""Below a widened axis of values ≥ 0: this fraction of its span, so a line at 0 shows."""
TARGET_SHADE = 0.55
"""A target line's colour: its band's colour times this (darker)."""
TARGET_ZORDER = 3
TARGET_LABEL = "dashed: the target shares set at each rebalance, stacked like the bands"
ALLOCATION_NOTE = (
    "Bands: each strategy's share of the fund, stacked; above them: the reserve.\n"
    "Where a band's top edge leaves the dashed line of its colour, the strategy has drifted"
    " from its target."
)


class MoneyFormatter(Formatter):
    """Tick labels for money: thousands separated; cents only where the ticks need them."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return money_tick(x, _places(self.locs))

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        places = _places(values)
        return [money_tick(v, places) for v in values]


def _places(values: Sequence[float]) -> int:
    return 0 if all(abs(v - round(v)) < 1e-6 for v in values) else 2


def money_tick(value: float, places: int = 0) -> str:
    """1234567.0 -> '1,234,567'; never '-0'."""
    text = f"{value:,.{places}f}"
    return text[1:] if text.startswith("-") and float(text[1:].replace(",", "")) == 0 else text


def min_span(history: FundHistory) -> float:
    """The smallest span, in money, of a value axis of this fund's charts."""
    peak = max((v for v in history.fund_value if math.isfinite(v)), default=0.0)
    return max(MIN_SPAN_MONEY, MIN_SPAN_FRACTION * peak)


def widen(ax: Axes, values: Sequence[float], span: float) -> None:
    """Give `ax` at least `span` of height around `values`; values ≥ 0 are not centred
    where that would put most of the axis below 0."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite or max(finite) - min(finite) >= span:
        return
    centre = (max(finite) + min(finite)) / 2
    low = centre - span / 2
    if min(finite) >= 0 > low:
        low = -FLOOR_MARGIN * span  # lifted off the bottom spine, not far below 0
    ax.set_ylim(low, low + span)


def _figure(size: tuple[float, float] = FIGURE_SIZE_IN) -> Figure:
    fig = Figure(figsize=size, dpi=FIGURE_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _date_numbers(history: FundHistory) -> Any:
    return date2num(history.ts)  # type: ignore[no-untyped-call]


def _dates(ax: Axes, history: FundHistory) -> None:
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    if not history:
        ax.text(0.5, 0.5, "no slices recorded", ha="center", va="center", transform=ax.transAxes)


def equity_figure(history: FundHistory, name: str) -> Figure:
    """Fund value above, reserve below: on one axis the reserve would flatten the fund."""
    fig = _figure()
    fund_ax, reserve_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    span = min_span(history)
    if history:
        x = _date_numbers(history)
        fund_ax.plot(x, history.fund_value, color="C0")
        reserve_ax.plot(x, history.reserve_value, color="C7")
    for ax, label, values in (
        (fund_ax, "fund value", history.fund_value),
        (reserve_ax, "reserve", history.reserve_value),
    ):
        _dates(ax, history)
        ax.set_ylabel(label)
        ax.yaxis.set_major_formatter(MoneyFormatter())
        widen(ax, values, span)
        ax.grid(alpha=0.3)
    fund_ax.set_title(f"{name}: equity")
    return fig


def allocation_figure(history: FundHistory, name: str) -> Figure:
    fig = _figure(ALLOCATION_SIZE_IN)
    ax = fig.subplots()
    ids = history.strategy_ids
    if history and ids:
        x = _date_numbers(history)
        colors = [to_rgb(f"C{i % 10}") for i in range(len(ids))]
        weights, targets_of = history.weights, history.targets  # each derived once
        current = np.nan_to_num(np.array([weights[s] for s in ids]))
        ax.stackplot(x, current, labels=ids, colors=colors, alpha=0.6, zorder=1)
        targets = np.cumsum(np.nan_to_num(np.array([targets_of[s] for s in ids])), axis=0)
        outline = [patheffects.withStroke(linewidth=3.2, foreground="white", alpha=0.8)]
        for row, color in zip(targets, colors, strict=True):
            ax.plot(
                x,
                row,
                linestyle=(0, (4, 2)),
                linewidth=1.6,
                color=tuple(c * TARGET_SHADE for c in color),
                zorder=TARGET_ZORDER,
                path_effects=outline,
                gid="target",
            )
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], linestyle=(0, (4, 2)), linewidth=1.6, color="0.25"))
        labels.append(TARGET_LABEL)
        fig.legend(
            handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize="small"
        )
    _dates(ax, history)
    fig.suptitle(f"{name}: allocation")
    ax.set_title(ALLOCATION_NOTE, fontsize="small", loc="left", color="0.25")
    ax.set_ylabel("share of the fund")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_locator(MultipleLocator(0.2))
    ax.set_ylim(0, 1.04)  # a target of 100 % is drawn whole, above the top band's edge
    ax.grid(alpha=0.3)
    return fig
