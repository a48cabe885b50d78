"""Risk refusals: recorded as REJECTED orders with an event, answered 400 with the reason, never sent."""
from decimal import Decimal

import pytest

from accounts.services.risk import update_risk_settings
from sandbox.models import SandboxOrder
from tests.trading.conftest import order
from trading.models import EventLevel, Order, OrderStatus

pytestmark = pytest.mark.django_db


def _refused(trader, response, words: str) -> Order:
    assert response.status_code == 400, response.json()
    assert words in response.json()["message"]
    row = Order.objects.filter(user=trader.user).latest("id")
    assert row.status == OrderStatus.REJECTED
    assert words in row.rejection_reason
    assert row.events.filter(level=EventLevel.WARNING, message__contains=words).exists()
    return row


def test_the_kill_switch_refuses_every_order(trader):
    update_risk_settings(trader.user, trading_enabled=False)
    _refused(trader, trader.post("placeorder", order()), "kill switch")
    assert not SandboxOrder.objects.exists()


def test_it_refuses_an_order_over_the_max_order_value_at_the_ltp(trader):
    update_risk_settings(trader.user, max_order_value=Decimal("7999"))
    _refused(trader, trader.post("placeorder", order(quantity="10")), "exceeds the limit")
    assert trader.post("placeorder", order(quantity="9")).status_code == 200  # 9 × 800 = 7200


def test_a_limit_order_is_valued_at_its_limit_price(trader):
    update_risk_settings(trader.user, max_order_value=Decimal("5000"))
    _refused(trader, trader.post("placeorder", order(quantity="10", pricetype="LIMIT", price="600")),
             "exceeds the limit")
    assert trader.post("placeorder", order(quantity="10", pricetype="LIMIT", price="400")).status_code == 200


def test_it_refuses_past_max_open_orders(trader):
    update_risk_settings(trader.user, max_open_orders=2)
    resting = order(pricetype="LIMIT", price="700", quantity="1")  # a buy limit below the ask rests
    assert trader.post("placeorder", resting).status_code == 200
    assert trader.post("placeorder", resting).status_code == 200
    _refused(trader, trader.post("placeorder", resting), "Too many open orders")
    assert SandboxOrder.objects.filter(user_id=trader.user.pk).count() == 2


def test_it_refuses_past_max_orders_per_day(trader):
    update_risk_settings(trader.user, max_orders_per_day=1)
    assert trader.post("placeorder", order(quantity="1")).status_code == 200
    _refused(trader, trader.post("placeorder", order(quantity="1")), "Daily order limit")


def test_a_split_over_max_open_orders_is_refused_as_a_whole(trader):
    update_risk_settings(trader.user, max_open_orders=3)
    response = trader.post("splitorder", order(quantity="4", splitsize="1", pricetype="LIMIT", price="700"))
    assert response.status_code == 400
    assert "Too many open orders" in response.json()["message"]
    assert not SandboxOrder.objects.exists()


def test_the_market_calendar_refuses_when_closed(trader, settings, monkeypatch):
    from trading.services import calendar

    settings.ENFORCE_MARKET_HOURS = True
    monkeypatch.setattr(calendar, "check_market_open", lambda exchange, at=None: "closed for the weekend")
    _refused(trader, trader.post("placeorder", order()), "Market closed for NSE")
    update_risk_settings(trader.user, allow_after_market_orders=True)
    assert trader.post("placeorder", order()).status_code == 200


def test_a_repeat_of_a_refused_order_is_refused_again_without_a_new_row(trader):
    update_risk_settings(trader.user, trading_enabled=False)
    assert trader.post("placeorder", order(client_order_id="r1")).status_code == 400
    update_risk_settings(trader.user, trading_enabled=True)
    assert trader.post("placeorder", order(client_order_id="r1")).status_code == 400
    assert Order.objects.filter(user=trader.user).count() == 1


def test_the_daily_count_survives_a_cache_flush(trader):
    from django.core.cache import cache

    update_risk_settings(trader.user, max_orders_per_day=2)
    assert trader.post("placeorder", order(quantity="1")).status_code == 200
    update_risk_settings(trader.user, trading_enabled=False)
    trader.post("placeorder", order(quantity="1"))  # refused by the kill switch: not counted
    update_risk_settings(trader.user, trading_enabled=True)
    cache.clear()  # the counter is gone; the count is rebuilt from the orders table
    assert trader.post("placeorder", order(quantity="1")).status_code == 200
    _refused(trader, trader.post("placeorder", order(quantity="1")), "Daily order limit")


def test_todays_counter_key_follows_the_local_date_across_midnight(monkeypatch):
    """The day stamp is kept between calls, and changes at midnight in the platform's zone (IST)."""
    import datetime as dt

    from django.utils import timezone

    from trading.services import risk

    before = dt.datetime(2026, 11, 23, 18, 29, 59, tzinfo=dt.UTC)  # 23:59:59 IST
    monkeypatch.setattr(timezone, "now", lambda: before)
    assert risk._today_key(7).endswith(":20261123")
    after = before + dt.timedelta(seconds=1)  # midnight IST
    monkeypatch.setattr(timezone, "now", lambda: after)
    assert risk._today_key(7).endswith(":20261124")
    monkeypatch.setattr(timezone, "now", lambda: before)
    assert risk._today_key(7).endswith(":20261123")
