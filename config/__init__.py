"""Typed settings and example configurations.

`load_settings(path, env)` reads a YAML or TOML file with `PAPERFUND_*` environment variables on
top and returns a frozen `FundSettings`, or raises `ConfigError` listing every problem as
`field.path: reason`. The builders turn settings into core objects; `check_imports` resolves
the strategy classes (it imports user code, so loading does not call it).

The builders are imported on first use (PEP 562): they pull in the core's numerics, which a
client that only reads the settings (`paperfund ctl`) does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from config.errors import ConfigError, Problem
from config.loader import DEFAULT_CONFIG, EXAMPLES_DIR, load_settings
from config.settings import FundSettings

if TYPE_CHECKING:
    from config.builders import (
        build_algorithm,
        build_ledger_models,
        build_rebalancer,
        check_buildable,
        check_imports,
        feed_options,
        resolve_strategy_class,
        strategy_class_path,
    )

_BUILDERS = frozenset(
    {
        "build_algorithm",
        "build_ledger_models",
        "build_rebalancer",
        "check_buildable",
        "check_imports",
        "feed_options",
        "resolve_strategy_class",
        "strategy_class_path",
    }
)

__all__ = [
    "DEFAULT_CONFIG",
    "EXAMPLES_DIR",
    "ConfigError",
    "FundSettings",
    "Problem",
    "build_algorithm",
    "build_ledger_models",
    "build_rebalancer",
    "check_buildable",
    "check_imports",
    "feed_options",
    "load_settings",
    "resolve_strategy_class",
    "strategy_class_path",
]


def __getattr__(name: str) -> Any:
    if name not in _BUILDERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("config.builders"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _BUILDERS)
