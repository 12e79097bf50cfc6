"""Orders a strategy keeps, across its host's snapshot.

A strategy may keep the orders its ledger gave it (`core.order_view.OrderView`, each a view of
one of the ledger's `Order`s) in its context and read them on later bars: "is my order still
open?". A snapshot holds the ledger as its state (`Ledger.to_state`) and the strategy's objects
pickled, so a plain pickle would restore those orders as copies that never fill: after a
restart, or a shard's rebuild, the strategy would wait for ever where the uninterrupted run
traded.

So `dumps` pickles every `Order` it meets as its state, `loads` collects the orders it builds
again, and `rebind` puts them in the restored ledger in place of its orders of the same id
(with the ledger's state, which is the one that counts): the strategy's views follow the
ledger's orders again. An order the ledger no longer records (closed, and past
`CLOSED_ORDERS_KEPT`) cannot change any more, so its copy is as good as the original.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from collections import deque
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from core.order_view import ORDER_FIELDS
from core.orders import Order

if TYPE_CHECKING:
    from core.ledger import Ledger

PICKLE_PROTOCOL = 5

_LOADED: ContextVar[list[Order] | None] = ContextVar("kept_orders", default=None)


def dumps(obj: object) -> bytes:
    """`pickle.dumps(obj)`, with every `Order` in it pickled as a kept order."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=PICKLE_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, Order: _reduce_order}
    pickler.dump(obj)
    return buffer.getvalue()


def loads(blob: bytes) -> tuple[Any, list[Order]]:
    """`pickle.loads(blob)`, and the kept orders it built again (none from a snapshot that
    `dumps` did not write)."""
    loaded: list[Order] = []
    token = _LOADED.set(loaded)
    try:
        return pickle.loads(blob), loaded
    finally:
        _LOADED.reset(token)


def rebind(ledger: Ledger, kept: list[Order]) -> None:
    """Make the kept orders `ledger`'s own, in place of its orders of the same ids."""
    if not kept:
        return
    by_id = {order.id: order for order in kept}
    book = ledger._orders

    def own(order: Order) -> Order:
        mine = by_id.get(order.id)
        if mine is None:
            return order
        for name in ORDER_FIELDS:  # the ledger's state is the one that counts
            setattr(mine, name, getattr(order, name))
        return mine

    book.open = [own(order) for order in book.open]
    book.closed = deque(map(own, book.closed), maxlen=book.closed.maxlen)


def _reduce_order(order: Order) -> tuple[Any, ...]:
    return _kept_order, (order.to_state(),)


def _kept_order(state: dict[str, Any]) -> Order:
    order = Order.from_state(state)
    loaded = _LOADED.get()
    if loaded is not None:
        loaded.append(order)
    return order
