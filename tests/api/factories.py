"""Factories of the API tests: the books of live accounts (trades, positions, holdings).

Instruments, trading accounts, orders and pending orders come from the trading tests' factories.
"""
from __future__ import annotations

from decimal import Decimal

import factory

from tests.factories import UserFactory
from tests.trading.factories import (  # noqa: F401  (re-exported for the API tests)
    InstrumentFactory,
    OrderFactory,
    PendingOrderFactory,
    TradingAccountFactory,
)
from trading.models import Holding, Position, Trade


class TradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trade

    order = factory.SubFactory(OrderFactory)
    user = factory.SelfAttribute("order.user")
    account = factory.SelfAttribute("order.account")
    exchange = "NSE"
    symbol = "SBIN"
    action = "BUY"
    product = "MIS"
    quantity = Decimal("1")
    price = Decimal("800")


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    user = factory.SubFactory(UserFactory)
    exchange = "NSE"
    symbol = factory.Sequence(lambda n: f"POS{n}")
    product = "MIS"
    net_quantity = Decimal("10")
    average_price = Decimal("800")


class HoldingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holding

    user = factory.SubFactory(UserFactory)
    exchange = "NSE"
    symbol = factory.Sequence(lambda n: f"HOLD{n}")
    quantity = Decimal("5")
    average_price = Decimal("100")
    ltp = Decimal("110")
    pnl = Decimal("50")
