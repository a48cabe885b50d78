"""Factories and helpers for the sandbox tests."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from brokers.adapters.base import AdapterContext, OrderSpec
from sandbox.adapter import SandboxAdapter
from sandbox.services.funds import check_invariant
from sandbox.services.money import IST
from sandbox.services.prices import set_price
from tests.brokers.factories import InstrumentFactory
from tests.factories import UserFactory

__all__ = ["TRADING_DAY", "InstrumentFactory", "Sandbox", "UserFactory", "ist"]




#: The tests' trading day: a Wednesday that is no holiday on any exchange in the seeded calendar.
TRADING_DAY = dt.date(2026, 11, 25)


def ist(hour: int, minute: int = 0, day: dt.date | None = None) -> dt.datetime:
    return dt.datetime.combine(day or TRADING_DAY, dt.time(hour, minute), IST)


class Sandbox:
    """One user's sandbox driven through the adapter, checking the funds invariant after every call."""

    def __init__(self, user) -> None:
        self.user = user
        self.adapter = SandboxAdapter(AdapterContext(user_id=user.pk))

    def check(self):
        return check_invariant(self.user)

    def place(self, symbol: str = "SBIN", action: str = "BUY", quantity: int | str = 1, *, exchange: str = "NSE",
              price_type: str = "MARKET", product: str = "MIS", price: str | int = 0, trigger: str | int = 0):
        result = self.adapter.place_order(OrderSpec(
            exchange=exchange, symbol=symbol, action=action, quantity=Decimal(str(quantity)), price_type=price_type,
            product=product, price=Decimal(str(price)), trigger_price=Decimal(str(trigger))))
        self.check()
        return result

    def cancel(self, order_id: str):
        result = self.adapter.cancel_order(order_id)
        self.check()
        return result

    def funds(self):
        return self.check()

    def position(self, symbol: str = "SBIN", product: str = "MIS", exchange: str = "NSE"):
        for p in self.adapter.positions():
            if (p.exchange, p.symbol, p.product) == (exchange, symbol, product):
                return p
        return None


def price(symbol: str, ltp, *, exchange: str = "NSE", owners: list[Sandbox] = (), **quote):
    """Set a price (matching runs) and check every given sandbox's invariant afterwards."""
    q = set_price(exchange, symbol, Decimal(str(ltp)), **quote)
    for sandbox in owners:
        sandbox.check()
    return q
