"""The exception tree of `config`: one class.

ConfigError    the configuration is invalid; `problems` lists each (`field.path`, reason).
               Raised by `load_settings`, the builders and `check_imports`; the CLI prints it
               and exits with code 2.

`FieldProblems` is internal plumbing: validators raise it (a `ValueError`, so pydantic turns it
into a validation error) to report several problems at paths below the field they validate;
`problems_from_validation_error` expands it back into separate `field.path: reason` lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from config.suggest import did_you_mean, unknown_option_hint

MAX_INPUT_REPR = 60


class Problem(NamedTuple):
    """One invalid setting: its dotted path (`strategies.slow.allocation`) and the reason."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '(root)'}: {self.reason}"


class ConfigError(Exception):
    """Invalid configuration; the message lists every problem, one `path: reason` per line
    (a reason that spans lines, such as an error from strategy code, is joined into one)."""

    def __init__(self, problems: Iterable[Problem], source: str | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        self.source = source
        header = f"invalid configuration ({source})" if source else "invalid configuration"
        lines = "\n".join(f"  {' '.join(str(p).splitlines())}" for p in self.problems)
        super().__init__(f"{header}:\n{lines}" if lines else header)


class FieldProblems(ValueError):
    """Problems at paths relative to the validated field or model (`1.id`, `files.0.symbol`)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def join_path(*parts: object) -> str:
    return ".".join(str(p) for p in parts if p != "")


# Discriminated unions put the tag of the chosen member into error locations
# (`feed.synthetic.bars`); users wrote `feed.bars`, so the tag is dropped again.
_UNION_FIELDS = frozenset({"feed", "algorithm", "inner", "commission", "slippage", "fill", "paths"})
_FRIENDLY = {
    "extra_forbidden": "unknown option",
    "missing": "required option is missing",
}


def _clean_loc(loc: tuple[int | str, ...], tags: frozenset[str]) -> list[int | str]:
    parts: list[int | str] = []
    for part in loc:
        if parts and parts[-1] in _UNION_FIELDS and part in tags:
            continue
        parts.append(part)
    return parts


def _describe(err: Any) -> str:
    kind = err["type"]
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    message = str(err["msg"])
    if kind == "value_error":  # our validators' messages say what they got
        return message.removeprefix("Value error, ")
    value = err.get("input")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = repr(value)
        if len(text) <= MAX_INPUT_REPR:
            message = f"{message} (got {text})"
    return message


def _unknown_tag(ctx: dict[str, Any]) -> str:
    if "tag" not in ctx:
        return "required option is missing"
    return f"unknown value {ctx['tag']!r}; expected one of {ctx.get('expected_tags', '?')}"


def unknown_option(name: str, options: Iterable[str]) -> str:
    """The reason for an unknown option `name` where `options` are the known ones."""
    return f"{_FRIENDLY['extra_forbidden']}{did_you_mean(name, options)}"


def problems_from_validation_error(
    exc: ValidationError, tags: frozenset[str] = frozenset(), root: type[BaseModel] | None = None
) -> list[Problem]:
    """One `Problem` per error; `tags` are the discriminator values to drop from paths;
    `root` (the validated model) is where close matches for unknown options come from."""
    problems: list[Problem] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        parts = _clean_loc(loc, tags)
        if err["type"] == "extra_forbidden" and root is not None and loc:
            reason = _FRIENDLY["extra_forbidden"] + unknown_option_hint(
                root, loc, join_path(*parts[:-1])
            )
            problems.append(Problem(join_path(*parts), reason))
            continue
        ctx = err.get("ctx") or {}
        nested = ctx.get("error")
        if isinstance(nested, FieldProblems):
            problems.extend(Problem(join_path(*parts, p.path), p.reason) for p in nested.problems)
            continue
        if err["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            field = str(ctx.get("discriminator", "")).strip("'").removesuffix("()")
            parts.append(field)
            problems.append(Problem(join_path(*parts), _unknown_tag(ctx)))
            continue
        problems.append(Problem(join_path(*parts), _describe(err)))
    return problems


# ---------------------------------------------------------------- strategies by id

_PLAIN_ID = re.compile(r"[A-Za-z0-9_\-]+")
_STRATEGY_INDEX = re.compile(r"^strategies\.(\d+)(?=\.|$)")


def strategy_labels(entries: object) -> dict[int, str]:
    """{index: id} of the `strategies` entries (as given) whose id can stand for them in a
    path: a plain name (no dots) that no other entry has."""
    if not isinstance(entries, list):
        return {}
    ids = [e.get("id") if isinstance(e, dict) else getattr(e, "id", None) for e in entries]
    return {
        i: sid
        for i, sid in enumerate(ids)
        if isinstance(sid, str) and _PLAIN_ID.fullmatch(sid) and ids.count(sid) == 1
    }


def strategy_path(index: int, labels: dict[int, str]) -> str:
    """`strategies.slow` for the entry with that id, `strategies.3` when it has none."""
    return f"strategies.{labels.get(index, index)}"


def name_strategies(problems: Iterable[Problem], entries: object) -> list[Problem]:
    """`problems` with `strategies.<index>` paths written with the entry's id instead."""
    labels = strategy_labels(entries)

    def relabel(match: re.Match[str]) -> str:
        return strategy_path(int(match.group(1)), labels)

    return [Problem(_STRATEGY_INDEX.sub(relabel, p.path), p.reason) for p in problems]
