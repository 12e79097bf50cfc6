"""Strategy classes named by the settings: `package.module:Class` or an entry point name.

An entry point of the group `paperfund.strategies` resolves to its `module:attr` value without
importing anything (`strategy_class_path`), so a worker in a child process can be given a
plain import path. `check_imports` does import: it is what `check-config` runs.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from config.errors import ConfigError, Problem, strategy_labels, strategy_path
from config.settings import FundSettings
from workers.errors import StrategyLoadError
from workers.loader import build_strategy, load_strategy_class

ENTRY_POINT_GROUP = "paperfund.strategies"


def strategy_class_path(class_path: str) -> str:
    """`package.module:Class` for `class_path`, looking entry point names up (no import).

    Raises `ImportError` for an entry point name that is not installed.
    """
    if ":" in class_path:
        return class_path
    matches = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=class_path)
    if not matches:
        raise ImportError(
            f"{class_path!r} is neither 'package.module:Class' nor the name of an installed "
            f"entry point of the group {ENTRY_POINT_GROUP!r}"
        )
    return next(iter(matches)).value


def resolve_strategy_class(class_path: str) -> type:
    """Import the strategy class `class_path` names; raises `ImportError` saying why not."""
    path = strategy_class_path(class_path)
    try:
        return load_strategy_class(path)
    except StrategyLoadError as exc:
        raise ImportError(str(exc)) from exc


@dataclass(frozen=True)
class StrategyCheck:
    """One strategy the settings name, to check: its settings path (`strategies.slow`,
    `catalog.extra`), class, params and worker mode; `build`: construct it too."""

    path: str
    class_path: str
    params: dict[str, Any]
    worker: str
    build: bool = False


def strategy_checks(settings: FundSettings, build: bool = False) -> list[StrategyCheck]:
    """A check of every configured strategy (built too when `build`: the run builds them as
    it starts) and of every catalog entry (imported only: built when an `add` names it)."""
    labels = strategy_labels(settings.strategies)
    checks = [
        StrategyCheck(strategy_path(i, labels), s.class_path, dict(s.params), s.worker, build)
        for i, s in enumerate(settings.strategies)
    ]
    checks += [
        StrategyCheck(f"catalog.{name}", t.class_path, dict(t.params), t.worker)
        for name, t in settings.catalog.items()
    ]
    return checks


def check_strategy(check: StrategyCheck) -> tuple[type | None, list[Problem]]:
    """Import the class, bind the params to its constructor and, when asked, build it."""
    try:
        cls = resolve_strategy_class(check.class_path)
    except ImportError as exc:
        return None, [Problem(f"{check.path}.class", str(exc))]
    try:
        signature = inspect.signature(cls)
    except ValueError:  # no introspectable signature: building finds out
        signature = None
    try:
        if signature is not None:
            signature.bind(**check.params)
    except TypeError as exc:
        return cls, [Problem(f"{check.path}.params", f"{cls.__name__}: {exc}")]
    if check.build:
        try:
            build_strategy(strategy_class_path(check.class_path), check.params)
        except StrategyLoadError as exc:
            reason = str(exc).split(": ", 1)[-1]
            return cls, [Problem(f"{check.path}.params", reason)]
    return cls, []


def run_checks(checks: Sequence[StrategyCheck]) -> list[Problem]:
    """Every problem of `checks`, in their order."""
    return [problem for check in checks for problem in check_strategy(check)[1]]


def check_imports(settings: FundSettings) -> dict[str, type]:
    """Import every strategy class (configured and catalog) and check that its params bind
    to its constructor, without building it. Returns the classes by catalog name; raises
    `ConfigError` listing every failure."""
    classes: dict[str, type] = {}
    problems: list[Problem] = []
    names = [s.id for s in settings.strategies] + list(settings.catalog)
    for name, check in zip(names, strategy_checks(settings), strict=True):
        cls, found = check_strategy(check)
        if cls is not None:
            classes[name] = cls
        problems += found
    if problems:
        raise ConfigError(problems)
    return classes
