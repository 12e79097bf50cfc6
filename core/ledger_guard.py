"""The fund's check that strategy code moved no money: defence in depth behind the view.

Strategy code gets a `StrategyLedger`, which cannot move money or positions; but Python
cannot hide the `Ledger` behind it from code that goes looking (a private slot, the garbage
collector). So the step takes a `Holdings` mark of the ledger's cash, positions and cached
value just before `handle_data` and compares after it. Nothing a strategy may do during
`handle_data` changes them: orders fill on the next slice, and this slice's fills and costs
were booked by `Ledger.process_slice` before the mark. Any difference was made outside a fill;
`check_holdings` puts the cash and positions back as they were and says what changed, and the
step reports it as a fault (the fund quarantines the strategy).

Cost: one tuple per held position and a few identity tests per strategy-bar (see the README's
benchmark line); the slow comparison runs only when an identity test fails.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from core.money import ZERO
from core.orders import Position

if TYPE_CHECKING:
    from core.ledger import Ledger

FAULT_PREFIX = "ledger changed outside fills"

_Held = tuple[str, Position, Decimal, Decimal, Decimal]


class Holdings:
    """Cash, positions (objects, quantities, marks and cost bases) and cached value of a
    ledger at one moment. Realised P&L and the running totals are not money: not kept."""

    __slots__ = ("cash", "positions", "positions_value", "held")

    def __init__(self, ledger: Ledger) -> None:
        self.cash = ledger._cash
        self.positions_value = ledger._positions_value
        positions = self.positions = ledger._positions
        self.held: list[_Held] | None = (
            [(a, p, p.amount, p.last_price, p.cost_basis) for a, p in positions.items()]
            if positions
            else None
        )

    def same_objects(self, ledger: Ledger) -> bool:
        """True when nothing was even reassigned (the fast path: identity tests only)."""
        positions = self.positions
        if (
            ledger._cash is not self.cash
            or ledger._positions_value is not self.positions_value
            or ledger._positions is not positions
        ):
            return False
        held = self.held
        if held is None:
            return not positions
        if len(positions) != len(held):
            return False
        for asset, position, amount, last, basis in held:
            if (
                position.amount is not amount
                or position.last_price is not last
                or position.cost_basis is not basis
                or positions.get(asset) is not position
            ):
                return False
        return True

    def restore(self, ledger: Ledger) -> None:
        self.positions.clear()
        for asset, position, amount, last, basis in self.held or ():
            position.amount, position.last_price, position.cost_basis = amount, last, basis
            self.positions[asset] = position
        ledger._positions = self.positions
        ledger._cash = self.cash
        ledger._positions_value = self.positions_value

    def value(self) -> Decimal:
        held = self.held or ()
        return self.cash + sum((amount * last for _, _, amount, last, _ in held), ZERO)


def check_holdings(ledger: Ledger, before: Holdings) -> str | None:
    """None when `ledger` holds what it held at `before`; otherwise restore it and return
    the fault: what changed outside fills (cash, quantities, value)."""
    if before.same_objects(ledger):
        return None
    changes = _changes(ledger, before)
    if not changes:  # reassigned to equal values: nothing moved
        return None
    before.restore(ledger)
    return f"{FAULT_PREFIX}: {', '.join(changes)}"


def _changes(ledger: Ledger, before: Holdings) -> list[str]:
    try:
        cash = _decimal(ledger._cash)
        now = {asset: _decimal(p.amount) for asset, p in dict(ledger._positions).items()}
    except Exception:  # the state was replaced by something that is not a ledger's
        return ["state replaced"]
    changes = []
    if cash != before.cash:
        changes.append(f"cash {_signed(cash - before.cash)}")
    then = {asset: amount for asset, _, amount, _, _ in before.held or ()}
    for asset in sorted(now.keys() | then.keys()):
        delta = now.get(asset, ZERO) - then.get(asset, ZERO)
        if delta:
            changes.append(f"{asset} {_signed(delta)}")
    value, value_before = _value(ledger), before.value()
    if value is None:
        changes.append("value changed")
    elif value != value_before:
        changes.append(f"value {_signed(value - value_before)}")
    return changes


def _value(ledger: Ledger) -> Decimal | None:
    try:
        ledger._positions_value = None  # a strategy may have set it to anything
        value = ledger.portfolio_value
    except Exception:  # positions no longer hold numbers: certainly a change
        return None
    return value if isinstance(value, Decimal) and value.is_finite() else None


def _decimal(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal("NaN")


def _signed(delta: Decimal | None) -> str:
    if delta is None or delta.is_nan():
        return "changed"
    return f"+{delta}" if delta > 0 else str(delta)
