"""The official `openalgo` client, in analyze mode, sees its sandbox orders fill: at once for MARKET,
and when the price store moves through a resting LIMIT."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from openalgo import api

from accounts.services import apikeys
from accounts.services.usersettings import set_analyze_mode
from sandbox.services.prices import set_price
from tests.sandbox.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@pytest.fixture
def client(live_server, sbin, settings):
    settings.RATE_LIMITS_ENABLED = False
    user = UserFactory()
    set_analyze_mode(user, True)
    _, key = apikeys.create_key(user, "analyze", "auto")
    set_price("NSE", "SBIN", D("800"), bid="799.95", ask="800.05")
    return api(api_key=key, host=live_server.url)


def test_the_client_sees_market_and_resting_limit_orders_fill(client):
    placed = client.placeorder(strategy="sbx", symbol="SBIN", action="BUY", exchange="NSE", price_type="MARKET",
                               product="MIS", quantity=10)
    assert (placed["status"], placed["mode"]) == ("success", "analyze"), placed
    status = client.orderstatus(order_id=placed["orderid"], strategy="sbx")["data"]
    assert status["order_status"] == "complete"
    assert float(status["average_price"]) == 800.05

    limit = client.placeorder(strategy="sbx", symbol="SBIN", action="SELL", exchange="NSE", price_type="LIMIT",
                              product="MIS", quantity=10, price=810)
    assert client.orderstatus(order_id=limit["orderid"], strategy="sbx")["data"]["order_status"] == "open"
    set_price("NSE", "SBIN", D("810.5"))  # a tick through the limit: matching fills it
    status = client.orderstatus(order_id=limit["orderid"], strategy="sbx")["data"]
    assert status["order_status"] == "complete"
    assert float(status["average_price"]) == 810.0

    funds = client.funds()["data"]
    assert float(funds["m2mrealized"]) == pytest.approx(99.5)  # 10 x (810 - 800.05)
    positions = client.positionbook()["data"]
    assert [(p["symbol"], int(float(p["quantity"]))) for p in positions] == [("SBIN", 0)]
