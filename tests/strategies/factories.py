"""factory_boy factories of the strategies tests."""
from __future__ import annotations

from decimal import Decimal

import factory

from strategies.models import Deployment, DeploymentMode, Strategy, StrategySymbol
from tests.factories import UserFactory


class StrategyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Strategy

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"strategy{n}")


class StrategySymbolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StrategySymbol

    strategy = factory.SubFactory(StrategyFactory)
    exchange = "NSE"
    symbol = "SBIN"
    quantity = Decimal("10")


class DeploymentFactory(factory.django.DjangoModelFactory):
    """A sandbox deployment of the strategy on its owner's sandbox, unless told otherwise."""

    class Meta:
        model = Deployment

    strategy = factory.SubFactory(StrategyFactory)
    user = factory.LazyAttribute(lambda d: d.account.user if d.account else d.strategy.user)
    account = None
    mode = factory.LazyAttribute(lambda d: DeploymentMode.LIVE if d.account else DeploymentMode.SANDBOX)
