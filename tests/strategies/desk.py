"""Fixtures and helpers of the strategy API, risk, schedule and page tests (imported by those modules):
personas with API keys (from the API tests), a strategy with mapped symbols, sandbox deployments and a
way to give a deployment a position through the real order pipeline."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from strategies.models import Deployment, DeploymentMode, RiskRule, Strategy, StrategySymbol
from strategies.services.exits import place_for, route_of
from tests.api.conftest import Persona, market, operator, other, owner, persona  # noqa: F401
from trading.models import Action, Order, OrderSource, PriceType
from trading.services.validation import OrderSpec


@pytest.fixture(autouse=True)
def _desk_settings(settings):
    settings.RATE_LIMITS_ENABLED = False
    settings.ENFORCE_MARKET_HOURS = False


def make_strategy(user, name: str = "trend", **fields) -> Strategy:
    fields.setdefault("trading_days", [0, 1, 2, 3, 4, 5, 6])
    strategy = Strategy.objects.create(user=user, name=name, **fields)
    StrategySymbol.objects.create(strategy=strategy, exchange="NSE", symbol="SBIN", quantity=Decimal("10"))
    return strategy


def deploy(strategy: Strategy, user=None, **fields) -> Deployment:
    return Deployment.objects.create(strategy=strategy, user=user or strategy.user, mode=DeploymentMode.SANDBOX,
                                     **fields)


def trade(deployment: Deployment, action: str, quantity: str | int, symbol: str = "SBIN",
          exchange: str = "NSE") -> Order:
    """An order of the deployment through the pipeline (its owner's sandbox): a real fill."""
    spec = OrderSpec(exchange=exchange, symbol=symbol, action=action, quantity=Decimal(str(quantity)),
                     price_type=PriceType.MARKET, strategy=deployment.strategy.name)
    return place_for(deployment, spec, route_of(deployment), source=OrderSource.STRATEGY)


def rule(deployment: Deployment, rule_type: str, threshold: str, unit: str = "amount") -> RiskRule:
    return RiskRule.objects.create(deployment=deployment, rule_type=rule_type, threshold=Decimal(threshold),
                                   unit=unit)


def price(ltp: str, symbol: str = "SBIN", exchange: str = "NSE") -> None:
    """Move the market: bid and ask a tick either side (a MARKET buy pays the ask)."""
    from sandbox.services.prices import set_price

    value = Decimal(ltp)
    set_price(exchange, symbol, value, bid=value - Decimal("0.05"), ask=value + Decimal("0.05"))


def long_position(deployment: Deployment, quantity: int = 10, at: str = "800") -> Order:
    price(at)
    return trade(deployment, Action.BUY, quantity)


IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
