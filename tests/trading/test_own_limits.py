"""The order pipeline checks the limits in force: the operator's, or the trader's own stricter ones."""
from decimal import Decimal

import pytest

from accounts.services.risk import tighten_risk_settings, update_risk_settings
from tests.trading.conftest import order
from trading.models import Order, OrderStatus

pytestmark = pytest.mark.django_db


def test_a_traders_own_stricter_order_value_refuses_what_the_operator_would_allow(trader):
    update_risk_settings(trader.user, max_order_value=Decimal("100000"))  # the operator: 1 lakh
    assert trader.post("placeorder", order(quantity="10")).status_code == 200  # 8,000
    tighten_risk_settings(trader.user, max_order_value=Decimal("5000"))
    response = trader.post("placeorder", order(quantity="10"))
    assert response.status_code == 400
    assert "exceeds the limit of 5000.00" in response.json()["message"]


def test_a_traders_own_kill_switch_stops_their_orders(trader):
    tighten_risk_settings(trader.user, trading_enabled=False)
    response = trader.post("placeorder", order())
    assert response.status_code == 400
    assert "kill switch" in response.json()["message"]
    assert not Order.objects.exclude(status=OrderStatus.REJECTED).exists()


def test_an_operator_lowering_the_limit_below_the_traders_applies_at_once(trader):
    tighten_risk_settings(trader.user, max_order_value=Decimal("50000"))
    update_risk_settings(trader.user, max_order_value=Decimal("4000"))
    assert "exceeds the limit of 4000.00" in trader.post("placeorder", order(quantity="10")).json()["message"]
