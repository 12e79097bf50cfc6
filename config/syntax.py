"""One-line messages for YAML and TOML syntax errors, naming the file, line and column.

PyYAML's own message spans several lines and names the stream `<unicode string>`; tomllib
puts the position in parentheses at the end. Both become `FILE:LINE:COLUMN` with the reason.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from config.errors import Problem

_TOML_POSITION = re.compile(
    r"^(?P<why>.*?)\s*\(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$"
)


def parse_problem(exc: yaml.YAMLError | tomllib.TOMLDecodeError, path: Path) -> Problem:
    """The problem of a file that does not parse, located at its line and column."""
    if isinstance(exc, tomllib.TOMLDecodeError):
        return _toml_problem(exc, path)
    return _yaml_problem(exc, path)


def _where(path: Path, line: int | None = None, column: int | None = None) -> str:
    if line is None:
        return str(path)
    return f"{path}:{line}" if column is None else f"{path}:{line}:{column}"


def _toml_problem(exc: tomllib.TOMLDecodeError, path: Path) -> Problem:
    message = str(exc)
    match = _TOML_POSITION.match(message)
    if match is None:
        return Problem(str(path), f"cannot parse TOML: {message}")
    if match["line"] is None:
        return Problem(str(path), f"cannot parse TOML: {match['why']} at the end of the file")
    where = _where(path, int(match["line"]), int(match["col"]))
    return Problem(where, f"cannot parse TOML: {match['why']}")


def _yaml_problem(exc: yaml.YAMLError, path: Path) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        reason = f"cannot parse YAML: {exc.problem or 'invalid syntax'}"
        if exc.context:
            started = exc.context_mark
            at = (
                ""
                if started is None
                else f" at line {started.line + 1}, column {started.column + 1}"
            )
            reason += f" ({exc.context}{at})"
        return Problem(_where(path, mark.line + 1, mark.column + 1), reason)
    if isinstance(exc, yaml.reader.ReaderError):
        reason = (
            f"cannot parse YAML: character {exc.character!r} is not allowed (offset {exc.position})"
        )
        return Problem(str(path), reason)
    text = " ".join(str(exc).replace('"<unicode string>"', f'"{path}"').split())
    return Problem(str(path), f"cannot parse YAML: {text}")
