"""Which symbols a strategy trades: the ones it was given, or those of its first bar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.history import BarData


def resolve_symbols(context: Any, configured: Sequence[str] | None, data: BarData) -> list[str]:
    """Fix the strategy's universe on its first bar and keep it (sorted, deterministic)."""
    symbols: list[str] | None = getattr(context, "symbols", None)
    if symbols is None:
        symbols = list(configured) if configured else sorted(data)
        context.symbols = symbols
    return symbols
