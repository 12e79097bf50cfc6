"""Market data feeds: each yields `core.market.Slice`s in timestamp order."""
