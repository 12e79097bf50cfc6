"""Strategy classes named by the settings: `package.module:Class` or an entry point name.

An entry point of the group `paperfund.strategies` resolves to its `module:attr` value without
importing anything (`strategy_class_path`), so a worker in a child process can be given a
plain import path. `check_imports` does import: it is what `check-config` runs.
"""

from __future__ import annotations

import importlib.metadata
import inspect

from config.errors import ConfigError, Problem, strategy_labels, strategy_path
from config.models import StrategyTemplate
from config.settings import FundSettings
from workers.errors import StrategyLoadError
from workers.loader import load_strategy_class

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


def _entries(settings: FundSettings) -> list[tuple[str, str, StrategyTemplate]]:
    """(settings path, catalog name, template) of every strategy the settings name."""
    labels = strategy_labels(settings.strategies)
    entries: list[tuple[str, str, StrategyTemplate]] = [
        (strategy_path(i, labels), s.id, s) for i, s in enumerate(settings.strategies)
    ]
    entries += [(f"catalog.{name}", name, t) for name, t in settings.catalog.items()]
    return entries


def check_imports(settings: FundSettings) -> dict[str, type]:
    """Import every strategy class (configured and catalog) and check that its params bind
    to its constructor, without building it. Returns the classes by catalog name; raises
    `ConfigError` listing every failure."""
    classes: dict[str, type] = {}
    problems: list[Problem] = []
    for path, name, template in _entries(settings):
        try:
            cls = resolve_strategy_class(template.class_path)
        except ImportError as exc:
            problems.append(Problem(f"{path}.class", str(exc)))
            continue
        classes[name] = cls
        try:
            signature = inspect.signature(cls)
        except ValueError:  # no introspectable signature: the worker finds out when it builds
            continue
        try:
            signature.bind(**template.params)
        except TypeError as exc:
            problems.append(Problem(f"{path}.params", f"{cls.__name__}: {exc}"))
    if problems:
        raise ConfigError(problems)
    return classes
