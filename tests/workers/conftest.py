from __future__ import annotations

import pytest

from core.market import Slice
from tests.support.market_data import daily_slices, iter_window


@pytest.fixture(scope="session")
def window() -> list[Slice]:
    """About 300 daily slices in which all three shipped symbols trade."""
    return list(iter_window(daily_slices(), "1999-06-01", "2000-08-31"))
