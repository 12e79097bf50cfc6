"""The target-style order API strategies use on top of `Ledger.order`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from decimal import Decimal

from core.money import Number, to_decimal
from core.orders import Order


class TargetOrders(ABC):
    """`order_value`, `order_target`, `order_target_value`, `order_target_percent`, all
    expressed through `order` and the ledger's holdings and marks."""

    @abstractmethod
    def order(
        self,
        asset: str,
        amount: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> Order: ...

    @property
    @abstractmethod
    def portfolio_value(self) -> Decimal: ...

    @abstractmethod
    def _value_to_amount(self, asset: str, value: Decimal) -> Decimal:
        """Whole lots of `asset` worth `value` at its last price, rounded toward zero."""

    @abstractmethod
    def _pending_target(self, asset: str) -> Decimal:
        """Position plus open orders for `asset`."""

    def order_value(
        self,
        asset: str,
        value: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> Order:
        """Order `value / last price` shares, rounded toward zero to whole lots."""
        amount = self._value_to_amount(asset, to_decimal(value, field="value"))
        return self.order(asset, amount, limit_price, stop_price)

    def order_target(
        self,
        asset: str,
        target: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> Order | None:
        """Order what brings position + open orders for `asset` to `target` shares; None
        when already there."""
        goal = to_decimal(target, field="target")
        delta = goal - self._pending_target(asset)
        if delta == 0:
            return None
        return self.order(asset, delta, limit_price, stop_price)

    def order_target_value(
        self,
        asset: str,
        target_value: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> Order | None:
        target = self._value_to_amount(asset, to_decimal(target_value, field="target_value"))
        return self.order_target(asset, target, limit_price, stop_price)

    def order_target_percent(
        self,
        asset: str,
        target: Number,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
    ) -> Order | None:
        """Target `target` x this ledger's portfolio value in `asset`."""
        value = to_decimal(target, field="target") * self.portfolio_value
        return self.order_target_value(asset, value, limit_price, stop_price)
