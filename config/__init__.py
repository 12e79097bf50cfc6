"""Typed settings and example configurations.

`load_settings(path, env)` reads a YAML or TOML file with `PAPERFUND_*` environment variables on
top and returns a frozen `FundSettings`, or raises `ConfigError` listing every problem as
`field.path: reason`. The builders turn settings into core objects; `check_imports` resolves
the strategy classes (it imports user code, so loading does not call it).
"""

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
from config.errors import ConfigError, Problem
from config.loader import DEFAULT_CONFIG, EXAMPLES_DIR, load_settings
from config.settings import FundSettings

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
