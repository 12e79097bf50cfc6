"""`load_settings`: a YAML or TOML file plus `PAPERFUND_*` environment variables → `FundSettings`.

Every problem is collected and raised at once as a `ConfigError` (`field.path: reason` lines):
an unreadable file, unknown options (in the file or as `PAPERFUND_*` variables), invalid values,
and combinations the core rejects. Strategy classes are not imported here; `check_imports`
does that when asked.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import SettingsError

from config.errors import (
    ConfigError,
    Problem,
    name_strategies,
    problems_from_validation_error,
    unknown_option,
)
from config.settings import (
    DISCRIMINATOR_TAGS,
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    FundSettings,
    environment,
)
from config.suggest import closest
from config.syntax import parse_problem

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
DEFAULT_CONFIG = EXAMPLES_DIR / "demo.yaml"
"""The embedded default: the demo fund on the seeded synthetic feed."""

RESERVED_ENV_VARS = frozenset({"PAPERFUND_CONFIG"})
"""`PAPERFUND_*` variables that are not settings (the CLI reads the config file's path)."""

YAML_SUFFIXES = (".yaml", ".yml")
TOML_SUFFIXES = (".toml",)


def load_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    buildable: bool = True,
) -> FundSettings:
    """Load `path` (None: the embedded demo config) with `env` (None: `os.environ`) on top.

    `buildable=False` leaves out the check that the core accepts the allocation and ledger
    settings (it imports the core's numerics): for clients that only read the control
    settings of a fund whose daemon checked them (`paperfund ctl`)."""
    source = Path(path) if path is not None else DEFAULT_CONFIG
    environ: Mapping[str, str] = os.environ if env is None else env
    data = read_config_file(source)
    problems = unknown_env_problems(environ)
    settings: FundSettings | None = None
    try:
        with environment(environ):
            settings = FundSettings(**data)
    except ValidationError as exc:
        found = problems_from_validation_error(exc, DISCRIMINATOR_TAGS, FundSettings)
        problems += name_strategies(found, _strategy_entries(data, environ))
    except SettingsError as exc:
        problems.append(_environment_problem(exc, environ))
    if settings is not None and buildable:
        from config.builders import check_buildable

        problems += check_buildable(settings)
    if problems or settings is None:
        raise ConfigError(problems, str(source))
    return settings


def _strategy_entries(data: Mapping[str, Any], env: Mapping[str, str]) -> object:
    """The `strategies` list that was validated: the environment's (JSON) when it gives one,
    which replaces the file's whole, else the file's."""
    for name, value in env.items():
        if name.upper() == f"{ENV_PREFIX}STRATEGIES":
            try:
                return json.loads(value)
            except ValueError:
                break
    return data.get("strategies")


def _environment_problem(exc: SettingsError, env: Mapping[str, str]) -> Problem:
    """pydantic-settings stops at the first environment value it cannot decode (bad JSON)."""
    match = re.search(r'field "([^"]+)"', str(exc))
    field = match.group(1) if match else ""
    prefix = f"{ENV_PREFIX}{field.upper()}"
    for name in sorted(env):
        if not name.upper().startswith(prefix) or env[name].lstrip()[:1] not in ("[", "{"):
            continue
        try:
            json.loads(env[name])
        except ValueError as decode_error:
            path = name[len(ENV_PREFIX) :].lower().replace(ENV_NESTED_DELIMITER, ".")
            return Problem(path, f"{name} is not valid JSON ({decode_error})")
    return Problem(field or "(environment)", str(exc))


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's top-level mapping; raises `ConfigError` when it cannot be read or parsed."""
    suffix = path.suffix.lower()
    if suffix not in YAML_SUFFIXES + TOML_SUFFIXES:
        raise ConfigError(
            [Problem(str(path), f"unsupported extension {suffix!r}: use .yaml, .yml or .toml")],
            str(path),
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [Problem(str(path), f"cannot read: {exc.strerror or exc}")], str(path)
        ) from None
    except UnicodeDecodeError as exc:
        reason = (
            f"cannot read: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        )
        raise ConfigError([Problem(str(path), reason)], str(path)) from None
    try:
        data = tomllib.loads(text) if suffix in TOML_SUFFIXES else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([parse_problem(exc, path)], str(path)) from None
    return _top_level(data, path)


def _top_level(data: object, path: Path) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        reason = f"the top level must be a mapping of options, got {type(data).__name__}"
        raise ConfigError([Problem(str(path), reason)], str(path))
    bad = [key for key in data if not isinstance(key, str) or key.startswith("_")]
    if bad:
        known = FundSettings.model_fields
        unknown = [Problem(str(key), unknown_option(str(key), known)) for key in bad]
        raise ConfigError(unknown, str(path))
    return data


def unknown_env_problems(env: Mapping[str, str]) -> list[Problem]:
    """`PAPERFUND_*` variables that name no top-level setting (nested ones are checked by the
    schema, which forbids unknown options)."""
    fields = set(FundSettings.model_fields)
    problems = []
    for name in sorted(env):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in RESERVED_ENV_VARS:
            continue
        head = upper[len(ENV_PREFIX) :].split(ENV_NESTED_DELIMITER, 1)[0].lower()
        if head not in fields:
            reason = f"unknown setting {head!r} in the environment"
            like = closest(head, fields)
            if like is not None:
                rest = upper[len(ENV_PREFIX) + len(head) :]
                reason += f"; did you mean `{ENV_PREFIX}{like.upper()}{rest}`?"
            problems.append(Problem(name, reason))
    return problems
