"""The fund's check that strategy code moved no money: defence in depth behind the view.

Strategy code gets a `StrategyLedger`, which cannot move money or positions; but Python
cannot hide the `Ledger` behind it from code that goes looking (a private slot, the garbage
collector). So the step takes the `holdings` of the ledger (cash, positions, cached value) just
before `handle_data` and compares after it. Nothing a strategy may do during
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
Holdings = tuple[Decimal, "Decimal | None", dict[str, Position], "list[_Held] | None"]
"""Cash, cached positions value, the positions dict and, per position, the object with its
quantity, mark and cost basis. Realised P&L and the running totals are not money."""


def holdings(ledger: Ledger) -> Holdings:
    """What only fills may change in `ledger`, at this moment (a tuple: this runs for every
    strategy on every bar)."""
    positions = ledger._positions
    if not positions:
        return ledger._cash, ledger._positions_value, positions, None
    held = []
    for asset, p in positions.items():  # a loop, not a comprehension: no call
        held.append((asset, p, p.amount, p.last_price, p.cost_basis))
    return ledger._cash, ledger._positions_value, positions, held


def check_holdings(ledger: Ledger, before: Holdings) -> str | None:
    """None when `ledger` holds what it held at `before`; otherwise restore it and return
    the fault: what changed outside fills (cash, quantities, value)."""
    cash, value, positions, held = before
    if (
        ledger._cash is cash and ledger._positions_value is value and ledger._positions is positions
    ):  # the fast path: identity tests only, nothing was even reassigned
        if held is None:
            if not positions:
                return None
        elif len(positions) == len(held):
            for asset, position, amount, last, basis in held:
                if (
                    position.amount is not amount
                    or position.last_price is not last
                    or position.cost_basis is not basis
                    or positions.get(asset) is not position
                ):
                    break
            else:
                return None
    changes = _changes(ledger, before)
    if not changes:  # reassigned to equal values: nothing moved
        return None
    _restore(ledger, before)
    return f"{FAULT_PREFIX}: {', '.join(changes)}"


def _restore(ledger: Ledger, before: Holdings) -> None:
    cash, value, positions, held = before
    positions.clear()
    for asset, position, amount, last, basis in held or ():
        position.amount, position.last_price, position.cost_basis = amount, last, basis
        positions[asset] = position
    ledger._positions = positions
    ledger._cash = cash
    ledger._positions_value = value


def _value_of(before: Holdings) -> Decimal:
    cash, _, _, held = before
    return cash + sum((amount * last for _, _, amount, last, _ in held or ()), ZERO)


def _changes(ledger: Ledger, before: Holdings) -> list[str]:
    try:
        cash = _decimal(ledger._cash)
        now = {asset: _decimal(p.amount) for asset, p in dict(ledger._positions).items()}
    except Exception:  # the state was replaced by something that is not a ledger's
        return ["state replaced"]
    changes = []
    cash_before, _, _, held = before
    if cash != cash_before:
        changes.append(f"cash {_signed(cash - cash_before)}")
    then = {asset: amount for asset, _, amount, _, _ in held or ()}
    for asset in sorted(now.keys() | then.keys()):
        delta = now.get(asset, ZERO) - then.get(asset, ZERO)
        if delta:
            changes.append(f"{asset} {_signed(delta)}")
    value, value_before = _value(ledger), _value_of(before)
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
