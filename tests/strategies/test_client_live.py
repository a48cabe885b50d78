"""The official openalgo client's Strategy(host_url, webhook_id).strategyorder() against a live server: the
webhook answers it, and the fan-out (eager Celery, after the delivery commits) places the orders."""
from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from openalgo import Strategy as ClientStrategy

from strategies.models import Signal, SignalStatus, TradingMode
from tests.strategies.factories import DeploymentFactory, StrategyFactory, StrategySymbolFactory
from trading.models import Order

# seeded_calendar: an earlier transactional test may have flushed the migrations' market calendar.
pytestmark = [pytest.mark.usefixtures("seeded_calendar"), pytest.mark.django_db(transaction=True), pytest.mark.live]


def test_the_official_clients_strategyorder_places_through_the_webhook(live_server, market, clock):
    strategy = StrategyFactory(trading_mode=TradingMode.BOTH)
    StrategySymbolFactory(strategy=strategy, symbol="SBIN", quantity=Decimal("5"))
    deployment = DeploymentFactory(strategy=strategy)
    client = ClientStrategy(host_url=live_server.url, webhook_id=str(strategy.webhook_id))

    answer = client.strategyorder("SBIN", "BUY", 8)
    assert answer["status"] == "success", answer
    order = Order.objects.get(deployment=deployment)
    assert (order.action, order.quantity, order.status) == ("BUY", 8, "COMPLETE")

    answer = client.strategyorder("SBIN", "SELL", 0)
    assert answer["status"] == "success", answer
    assert Order.objects.filter(deployment=deployment, action="SELL").get().quantity == 8

    with pytest.raises(httpx.HTTPStatusError) as refused:  # the client raises on a 400; the body says why
        client.strategyorder("SBIN", "SELL", 3)
    assert refused.value.response.json()["message"].startswith("position_size:")
    assert Signal.objects.filter(strategy=strategy, status=SignalStatus.REFUSED).count() == 1
