"""core/ stays pure: no event loop, no network, no logging, no wall clock, no randomness."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN_MODULES = {"asyncio", "redis", "aiohttp", "structlog", "logging", "random", "time"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _violations(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(node.module)
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_CALLS:
            found.append(f".{node.attr}")
    return found


CORE_FILES = sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_is_pure(path: Path) -> None:
    assert _violations(path.read_text()) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import asyncio",
        "from redis import Redis",
        "import aiohttp.web",
        "import structlog",
        "import time\nx = time.time()",
        "from datetime import datetime\nx = datetime.now()",
        "import pandas as pd\nx = pd.Timestamp.now()",
    ],
)
def test_purity_check_catches(snippet: str) -> None:
    assert _violations(snippet)


def test_core_has_modules() -> None:
    assert len(CORE_FILES) >= 10
