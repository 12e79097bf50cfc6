"""Each package is imported from this repository, not from a same-named distribution."""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["core", "workers", "daemon", "config"])
def test_package_imports_from_repository(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == ROOT / name


@pytest.mark.parametrize("dist", ["python-daemon", "config", "core", "daemon", "workers"])
def test_no_same_named_distribution_is_installed(dist: str) -> None:
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution(dist)
