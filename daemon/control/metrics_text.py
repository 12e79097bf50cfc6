"""Metric families as columns, and their Prometheus text exposition.

A scrape of a fund with 1000 strategies has some 20 000 samples. prometheus_client builds a
`Sample` per value and `generate_latest` formats each one through several generic helpers,
about 3 µs a sample: over 50 ms in all. The families here keep their values in columns, and
families that share their label values share one list of them, so `write_text` escapes the
labels of each strategy once per scrape and formats a sample with one f-string. Its output is
byte for byte what `generate_latest` writes for the same families (`to_metric`), which the
tests check; the registry path stays available for anything built on prometheus_client.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import SupportsFloat

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

Labels = tuple[str, ...]

_INF = math.inf
_GO_EXPONENT_FROM = 1e6
"""Go (and so `floatToGoString`) writes positive floats from here on with an exponent."""


@dataclass(slots=True)
class Family:
    """A gauge or counter family: `keys[i]` are the label values of `values[i]`.

    `name` is the exposed name without `_total` for counters (prometheus_client's
    convention). Values are floats: the exposition writes an int differently."""

    name: str
    kind: str  # "gauge" | "counter"
    help: str
    labels: Labels = ()
    keys: Sequence[Labels] = ()
    values: list[float] = field(default_factory=list)


@dataclass(slots=True)
class HistogramFamily:
    """A histogram without labels: cumulative `(le, count)` buckets, `+Inf` last."""

    name: str
    help: str
    buckets: list[tuple[str, float]]
    sum_value: float


AnyFamily = Family | HistogramFamily


Spec = tuple[str, str, str]
"""(kind, name, help) of a family."""


def singles(specs: Sequence[Spec], values: Sequence[SupportsFloat]) -> list[Family]:
    """Families without labels, one value each (a bool is 0 or 1, a Decimal a float)."""
    return [
        Family(name, kind, help_text, (), [()], [float(value)])
        for (kind, name, help_text), value in zip(specs, values, strict=True)
    ]


def labelled(spec: Spec, labels: Labels, rows: Iterable[tuple[Labels, SupportsFloat]]) -> Family:
    """A family from (label values, value) rows."""
    kind, name, help_text = spec
    family = Family(name, kind, help_text, labels, [], [])
    keys: list[Labels] = []
    for key, value in rows:
        keys.append(key)
        family.values.append(float(value))
    family.keys = keys
    return family


# ---- prometheus_client's objects, for the registry --------------------------------------
def to_metric(family: AnyFamily) -> Metric:
    if isinstance(family, HistogramFamily):
        return HistogramMetricFamily(
            family.name, family.help, buckets=family.buckets, sum_value=family.sum_value
        )
    metric: Metric
    if family.kind == "gauge":
        metric = GaugeMetricFamily(family.name, family.help, labels=list(family.labels))
    else:
        metric = CounterMetricFamily(family.name, family.help, labels=list(family.labels))
    for key, value in zip(family.keys, family.values, strict=True):
        metric.add_metric(list(key), value)
    return metric


# ---- the text exposition ------------------------------------------------------------------
def write_text(families: Iterable[AnyFamily]) -> bytes:
    """The text exposition of `families`, as `generate_latest` would write it."""
    out: list[str] = []
    label_text: dict[int, tuple[Sequence[Labels], list[str]]] = {}
    for family in families:
        if isinstance(family, HistogramFamily):
            _write_histogram(out, family)
            continue
        name = family.name + "_total" if family.kind == "counter" else family.name
        out.append(f"# HELP {name} {_help(family.help)}\n# TYPE {name} {family.kind}\n")
        cached = label_text.get(id(family.keys))
        if cached is None or cached[0] is not family.keys:
            cached = (family.keys, _label_strings(family.labels, family.keys))
            label_text[id(family.keys)] = cached
        go = go_float
        out.extend(
            [
                f"{name}{labels} {repr(v) if -_INF < v < _GO_EXPONENT_FROM else go(v)}\n"
                for labels, v in zip(cached[1], family.values, strict=True)
            ]
        )
    return "".join(out).encode()


def _write_histogram(out: list[str], family: HistogramFamily) -> None:
    name = family.name
    out.append(f"# HELP {name} {_help(family.help)}\n# TYPE {name} histogram\n")
    for le, count in family.buckets:
        out.append(f'{name}_bucket{{le="{le}"}} {go_float(count)}\n')
    out.append(f"{name}_count {go_float(family.buckets[-1][1])}\n")
    out.append(f"{name}_sum {go_float(family.sum_value)}\n")


def go_float(value: float) -> str:
    """A sample value as Go writes it (`+Inf`, `NaN`, `1.5e+06`), like `generate_latest`."""
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


def _label_strings(names: Labels, keys: Sequence[Labels]) -> list[str]:
    """`{a="x",b="y"}` per key, labels sorted by name as `generate_latest` sorts them."""
    if not names:
        return ["" for _ in keys]
    order = sorted(range(len(names)), key=names.__getitem__)
    heads = [f'{names[i]}="' for i in order]
    if len(order) == 1:
        head = "{" + heads[0]
        return [f'{head}{_escape(key[0])}"}}' for key in keys]
    if len(order) == 2:
        (a, b), head, middle = order, "{" + heads[0], '",' + heads[1]
        return [f'{head}{_escape(key[a])}{middle}{_escape(key[b])}"}}' for key in keys]
    return [
        "{" + ",".join(f'{heads[j]}{_escape(key[i])}"' for j, i in enumerate(order)) + "}"
        for key in keys
    ]


def _escape(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def _help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")
