"""The README's "Scaling out" section names what exists: the `ray` extra, the Ray actor host
and the Kubernetes component."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("## Scaling out", 1)[1].split("\n## ", 1)[0]


def test_the_ray_extra_it_names_is_installable() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    [extra] = re.findall(r"pip install 'paperfund\[(\w+)\]'", section())
    assert extra in extras["optional-dependencies"]
    assert any(r.startswith("ray[client]") for r in extras["optional-dependencies"][extra])


def test_the_paths_it_names_exist() -> None:
    paths = re.findall(r"`((?:workers|deploy|tests)/[\w./-]+)`", section())
    assert paths
    for path in paths:
        assert (ROOT / path).exists(), path
