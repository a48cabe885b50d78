"""Factories for the brokers tests."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from brokers.models import Exchange, Instrument, InstrumentType, TradingAccount
from tests.factories import UserFactory


class TradingAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TradingAccount

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"account-{n}")
    broker = "openalgo"
    credentials = factory.LazyFunction(lambda: {"host_url": "http://openalgo.test:5000",
                                                "websocket_url": "ws://openalgo.test:8765",
                                                "api_key": "oa-secret-key-0123456789"})
    priority = factory.Sequence(lambda n: n + 1)


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument
        django_get_or_create = ("exchange", "symbol")

    exchange = Exchange.NSE
    symbol = factory.Sequence(lambda n: f"STOCK{n}")
    name = factory.LazyAttribute(lambda i: f"{i.symbol} LTD")
    underlying = factory.LazyAttribute(lambda i: i.symbol)
    instrument_type = InstrumentType.EQ
    lot_size = 1
    tick_size = Decimal("0.05")


class OptionFactory(InstrumentFactory):
    exchange = Exchange.NFO
    underlying = "NIFTY"
    instrument_type = InstrumentType.CE
    expiry = date(2026, 12, 29)
    strike = Decimal("26000")
    symbol = factory.LazyAttribute(
        lambda i: f"{i.underlying}{i.expiry:%d%b%y}".upper() + f"{i.strike.normalize():f}{i.instrument_type}")
    lot_size = 75
    freeze_qty = 1800
