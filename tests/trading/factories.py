"""factory_boy factories for the trading tests: instruments, trading accounts, orders."""
from __future__ import annotations

from decimal import Decimal

import factory

from brokers.models import TradingAccount
from tests.brokers.factories import InstrumentFactory  # noqa: F401 (re-exported for the trading tests)
from tests.factories import UserFactory
from trading.models import Order, OrderStatus, PendingOrder


class TradingAccountFactory(factory.django.DjangoModelFactory):
    """A live-route account. Broker "sandbox" by default: a real adapter that needs no network."""

    class Meta:
        model = TradingAccount

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"account{n}")
    broker = "sandbox"
    is_primary = True


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    exchange = "NSE"
    symbol = "SBIN"
    action = "BUY"
    quantity = Decimal("1")
    status = OrderStatus.OPEN
    broker_order_id = factory.Sequence(lambda n: f"B{n:06d}")


class PendingOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PendingOrder

    user = factory.SubFactory(UserFactory)
    api_type = "placeorder"
    payload = factory.LazyFunction(lambda: {"strategy": "s", "exchange": "NSE", "symbol": "SBIN", "action": "BUY",
                                            "quantity": "1"})
