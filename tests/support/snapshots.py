"""What a pickled snapshot holds, independent of which objects happened to be shared.

Pickle writes an object once and refers back to it for every other reference to the same
object, so two equal states give different bytes when one shares a string (a symbol read
once from a file) that the other holds as separate copies (a symbol unpickled with every
slice a child process or an actor received). `snapshot_content` compares what is there.
"""

from __future__ import annotations

import pickle
from typing import Any

PLAIN = (str, bytes, int, float, complex, bool, type(None))
MAX_DEPTH = 200


def snapshot_content(blob: bytes) -> Any:
    """The unpickled snapshot as nested tuples of values, types and states."""
    return content(pickle.loads(blob))


def content(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError("state nested too deep (a cycle?)")
    if isinstance(value, PLAIN):
        return (type(value).__name__, value)
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return (type(value).__name__, tuple(content(v, depth + 1) for v in value))
    if type(value) is dict:
        items = tuple((content(k, depth + 1), content(v, depth + 1)) for k, v in value.items())
        return ("dict", items)
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return ("global", _name(value))
    reduced = value.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    if isinstance(reduced, str):  # a global: a class, a function, a singleton
        return ("global", reduced)
    parts = [content(part, depth + 1) if part is not None else None for part in reduced[1:3]]
    for iterator in reduced[3:5]:  # list items, dict items
        items = list(iterator) if iterator is not None else []
        parts.append(content(items, depth + 1))
    return (_name(reduced[0]), *parts)


def _name(factory: Any) -> str:
    module = getattr(factory, "__module__", "")
    return f"{module}.{getattr(factory, '__qualname__', repr(factory))}"
