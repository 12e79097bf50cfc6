"""Strategies by import path: "package.module:ClassName" plus keyword parameters.

A path names a class, not an instance, so that a child process can build the strategy
itself and the parent never imports strategy code it runs in a child.
"""

from __future__ import annotations

import importlib
from decimal import localcontext
from typing import Any

from core.errors import describe, exception_text
from core.money import strategy_decimals
from core.step import strategy_problem
from workers.errors import StrategyLoadError

PATH_FORMAT = "package.module:ClassName"


def _split(path: object) -> tuple[str, str]:
    if not isinstance(path, str):
        raise StrategyLoadError(f"strategy path must be a str like {PATH_FORMAT!r}, got {path!r}")
    module_name, sep, attribute = path.partition(":")
    module_ok = all(part.isidentifier() for part in module_name.split("."))
    attribute_ok = all(part.isidentifier() for part in attribute.split("."))
    if not sep or not module_ok or not attribute_ok:
        raise StrategyLoadError(f"strategy path {path!r} is not of the form {PATH_FORMAT!r}")
    return module_name, attribute


def _import(module_name: str, path: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise StrategyLoadError(f"{path}: module {missing!r} not found") from exc
        raise StrategyLoadError(
            f"{path}: importing {module_name} failed: {exception_text(exc)}"
        ) from exc
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # anything the module runs at import time, SystemExit too
        raise StrategyLoadError(f"{path}: importing {module_name} failed: {describe(exc)}") from exc


def load_strategy_class(path: str) -> type:
    """Import and return the strategy class that `path` ("package.module:ClassName") names.

    Raises `StrategyLoadError` for a malformed path, a module that is missing or fails to
    import, a missing attribute, or an attribute that is not a class with `handle_data`.
    """
    module_name, attribute = _split(path)
    found = _import(module_name, path)
    owner = module_name
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise StrategyLoadError(f"{path}: {owner} has no attribute {part!r}") from None
        owner = f"{owner}.{part}"
    if not isinstance(found, type):
        raise StrategyLoadError(f"{path}: {type(found).__name__} object is not a class")
    problem = strategy_problem(found)
    if problem is not None:
        raise StrategyLoadError(f"{path}: class {found.__name__} {problem}")
    return found


def build_strategy(path: str, params: dict[str, Any]) -> object:
    """Instantiate the class `path` names with keyword `params`. Importing and building run
    in a decimal context of their own: what they do to it is not kept (a strategy sets its
    own arithmetic in `initialize` or `handle_data`, see `core.money.FUND_DECIMALS`)."""
    with localcontext(strategy_decimals()):
        return _build(path, params)


def _build(path: str, params: dict[str, Any]) -> object:
    cls = load_strategy_class(path)
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise StrategyLoadError(f"{path}: params must be a dict of keyword arguments")
    try:
        return cls(**params)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # untrusted constructor; SystemExit is its failure
        raise StrategyLoadError(
            f"{path}: {cls.__name__}(**{params!r}) failed: {describe(exc)}"
        ) from exc
