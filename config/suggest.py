"""Close matches for unknown options: "did you mean `capital`?".

`option_names(root, loc)` walks the settings models along an error's location (list indexes,
mapping keys and the tags of tagged unions included, as pydantic reports them) and returns
the option names the model at that level accepts (aliases as written in files: `class`).
`did_you_mean` picks the closest of them with `difflib`.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Sequence
from difflib import get_close_matches
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag

SIMILARITY = 0.6
"""difflib's ratio a name must reach to be suggested (its default: `captial` → `capital`)."""


def closest(name: str, options: Iterable[str]) -> str | None:
    """The option most like `name`, or None when none is close enough."""
    found = get_close_matches(name, sorted(set(options)), n=1, cutoff=SIMILARITY)
    return found[0] if found else None


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """`; did you mean `x`?` for the closest option to `name`, or "" when none is close."""
    found = closest(name, options)
    return "" if found is None else f"; did you mean `{found}`?"


def unknown_option_hint(root: type[BaseModel], loc: Sequence[int | str], where: str = "") -> str:
    """What to say about the unknown option at `loc` (in the section `where`, as the user
    writes its path): the section one level down that has an option of exactly that name
    (`capital` belongs under `fund`), else the closest option at its level, else ""."""
    name = str(loc[-1])
    for section, node in _sections(_node_at(root, loc[:-1])):
        if name in _names(node):
            return f"; `{name}` belongs under `{where + '.' if where else ''}{section}`"
    return did_you_mean(name, option_names(root, loc))


def option_names(root: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The options of the model that holds the last part of `loc` (empty when unknown)."""
    return sorted(_names(_node_at(root, loc[:-1])))


def _node_at(root: type[BaseModel], loc: Sequence[int | str]) -> Any:
    node: Any = root
    for part in loc:
        node = _child(node, part)
        if node is None:
            return None
    return node


def _names(node: Any) -> set[str]:
    return {
        field.alias or name for model in _models(node) for name, field in _fields(model).items()
    }


def _sections(node: Any) -> list[tuple[str, Any]]:
    """(option name, type) of the options of `node` that are sections (models) themselves."""
    return [
        (field.alias or name, _declared(model, name))
        for model in _models(node)
        for name, field in _fields(model).items()
        if _models(_declared(model, name))
    ]


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return dict(model.model_fields)


def _unwrap(node: Any) -> Any:
    while get_origin(node) is Annotated:
        node = get_args(node)[0]
    return node


def _members(node: Any) -> list[Any]:
    """The members of a union (each still with its `Tag`), or [node]."""
    node = _unwrap(node)
    if get_origin(node) in (Union, types.UnionType):
        return list(get_args(node))
    return [node]


def _tag(member: Any) -> str | None:
    if get_origin(member) is Annotated:
        for meta in get_args(member)[1:]:
            if isinstance(meta, Tag):
                return meta.tag
    return None


def _models(node: Any) -> list[type[BaseModel]]:
    return [
        m
        for m in (_unwrap(member) for member in _members(node))
        if isinstance(m, type) and issubclass(m, BaseModel)
    ]


def _child(node: Any, part: int | str) -> Any:
    """The type one step down `node` at `part`, or None when the walk cannot go on."""
    members = _members(node)
    tagged = [m for m in members if _tag(m) == part]
    if tagged:
        return _unwrap(tagged[0])
    for member in map(_unwrap, members):
        found = _step(member, part)
        if found is not None:
            return found
    return None


def _step(node: Any, part: int | str) -> Any:
    if isinstance(node, type) and issubclass(node, BaseModel) and isinstance(part, str):
        for name, field in _fields(node).items():
            if part in (name, field.alias):
                return _declared(node, name)
        return None
    origin, args = get_origin(node), get_args(node)
    if origin is list and isinstance(part, int) and args:
        return args[0]
    if origin is dict and isinstance(part, str) and len(args) == 2:
        return args[1]
    return None


def _declared(model: type[BaseModel], name: str) -> Any:
    """The field's annotation with its tagged-union members intact."""
    hints = typing.get_type_hints(model, include_extras=True)
    return hints.get(name, model.model_fields[name].annotation)
