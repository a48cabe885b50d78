"""Orders outside analyze mode go to the trading account's broker; their fills are booked here."""
from decimal import Decimal

import pytest

from tests.trading.conftest import make_trader, order
from tests.trading.factories import TradingAccountFactory
from trading.models import Order, Position, PositionEvent, PositionHistory, Trade
from trading.services.records import apply_fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(market):
    trader = make_trader(analyze=False)
    trader.account = TradingAccountFactory(user=trader.user, name="main")
    return trader


def test_it_routes_to_the_primary_account_and_books_the_fill(live):
    response = live.post("placeorder", order(quantity="10"))
    assert response.status_code == 200, response.json()
    assert "mode" not in response.json()
    row = Order.objects.get()
    assert row.account == live.account
    assert not row.is_analyze
    trade = Trade.objects.get()
    assert (trade.order, trade.quantity, trade.price, trade.account) == (row, 10, Decimal("800.05"), live.account)
    position = Position.objects.get()
    assert (position.net_quantity, position.average_price) == (10, Decimal("800.05"))
    assert PositionHistory.objects.get().event == PositionEvent.OPEN


def test_a_named_account_is_used_and_an_unknown_name_is_400(live):
    other = TradingAccountFactory(user=live.user, name="second", is_primary=False)
    assert live.post("placeorder", order(account="second")).status_code == 200
    assert Order.objects.get().account == other
    response = live.post("placeorder", order(account="nope"))
    assert response.status_code == 400
    assert response.json()["message"].startswith("account:")


def test_an_inactive_primary_account_is_not_used(live):
    live.account.is_active = False
    live.account.save()
    response = live.post("placeorder", order())
    assert response.status_code == 400
    assert "trading account" in response.json()["message"]


def _fill(live, action: str, quantity: str, price: str, *, days_ago: int = 0) -> None:
    """Book a fill of the live account (a trade, the position and its history), `days_ago` days back."""
    from datetime import timedelta

    from django.utils import timezone

    from trading.services.records import record_fill

    row = Order.objects.create(user=live.user, account=live.account, exchange="NSE", symbol="SBIN", action=action,
                               quantity=Decimal(quantity), status="COMPLETE")
    record_fill(row, Decimal(quantity), Decimal(price))
    if days_ago:
        when = timezone.now() - timedelta(days=days_ago)
        PositionHistory.objects.filter(order=row).update(created_at=when)
        Order.objects.filter(pk=row.pk).update(placed_at=when)


def test_the_daily_loss_limit_reads_todays_realized_loss(live):
    from accounts.services.risk import update_risk_settings

    update_risk_settings(live.user, daily_loss_limit=Decimal("500"))
    _fill(live, "BUY", "10", "800")
    _fill(live, "SELL", "10", "750")  # today: -500
    response = live.post("placeorder", order())
    assert response.status_code == 400
    assert "Daily loss limit" in response.json()["message"]
    assert "today's realized loss 500.00" in response.json()["message"]


def test_a_loss_of_an_earlier_day_does_not_count_today(live):
    """The position's realized P&L is lifetime: last week's loss must not refuse today's orders."""
    from accounts.services.risk import update_risk_settings

    update_risk_settings(live.user, daily_loss_limit=Decimal("500"))
    _fill(live, "BUY", "10", "800", days_ago=7)
    _fill(live, "SELL", "10", "700", days_ago=7)  # -1000 a week ago
    _fill(live, "BUY", "1", "800")  # the position is touched today, at no loss
    assert Position.objects.get().realized_pnl == Decimal("-1000")
    response = live.post("placeorder", order())
    assert response.status_code == 200, response.json()


def test_today_is_the_exchanges_trading_day(live, settings):
    """A loss booked before midnight in the exchange's zone (IST) is yesterday's, whatever the server's zone."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from accounts.services.risk import update_risk_settings
    from trading.services.risk import todays_pnl

    settings.TIME_ZONE = "UTC"
    update_risk_settings(live.user, daily_loss_limit=Decimal("500"))
    _fill(live, "BUY", "10", "800")
    _fill(live, "SELL", "10", "700")
    ist = ZoneInfo("Asia/Kolkata")
    booked = PositionHistory.objects.get(event="CLOSE").created_at.astimezone(ist)
    assert todays_pnl(live.user.pk, "NSE", booked) == Decimal("-1000")
    next_morning = datetime.combine(booked.date() + timedelta(days=1), datetime.min.time(), ist) + timedelta(hours=1)
    assert todays_pnl(live.user.pk, "NSE", next_morning) == 0


def test_unrealized_loss_counts_behind_its_setting(live, settings):
    from accounts.services.risk import update_risk_settings

    update_risk_settings(live.user, daily_loss_limit=Decimal("500"))
    _fill(live, "BUY", "10", "800")
    Position.objects.update(ltp=Decimal("700"), unrealized_pnl=Decimal("-1000"))
    assert live.post("placeorder", order(quantity="1")).status_code == 200
    settings.RISK_DAILY_LOSS_INCLUDES_UNREALIZED = True
    response = live.post("placeorder", order(quantity="1"))
    assert response.status_code == 400
    assert "today's realized and unrealized loss" in response.json()["message"]


@pytest.mark.parametrize(("fills", "net", "avg", "realized", "kinds"), [
    ([(10, "100")], 10, "100", "0", ["OPEN"]),
    ([(10, "100"), (10, "110")], 20, "105", "0", ["OPEN", "INCREASE"]),
    ([(10, "100"), (-4, "110")], 6, "100", "40", ["OPEN", "DECREASE"]),
    ([(10, "100"), (-10, "90")], 0, "0", "-100", ["OPEN", "CLOSE"]),
    ([(10, "100"), (-15, "120")], -5, "120", "200", ["OPEN", "REVERSE"]),
    ([(-10, "100"), (10, "90")], 0, "0", "100", ["OPEN", "CLOSE"]),
])
def test_apply_fill(fills, net, avg, realized, kinds):
    position = Position(net_quantity=Decimal(0))
    seen = []
    for quantity, price in fills:
        kind, _ = apply_fill(position, Decimal(quantity), Decimal(price))
        seen.append(kind)
    assert position.net_quantity == net
    assert position.average_price == Decimal(avg)
    assert position.realized_pnl == Decimal(realized)
    assert seen == kinds


def test_an_unreachable_broker_is_a_500_with_its_message_and_a_rejected_order(market):
    trader = make_trader(analyze=False)
    TradingAccountFactory(user=trader.user, broker="openalgo",
                          credentials={"host_url": "http://127.0.0.1:9", "api_key": "abc.def"})
    response = trader.post("placeorder", order())
    assert response.status_code == 500
    assert "unreachable" in response.json()["message"]
    row = Order.objects.get()
    assert row.status == "REJECTED"
    assert row.rejection_reason.startswith("Broker error:")


def test_a_broker_that_may_have_received_the_order_leaves_it_awaiting_confirmation(live, monkeypatch):
    from brokers.adapters.base import BrokerUnavailable
    from sandbox.adapter import SandboxAdapter

    def dropped(self, request):
        raise BrokerUnavailable("connection dropped", data={"sent": True})

    monkeypatch.setattr(SandboxAdapter, "place_order", dropped)
    monkeypatch.setattr(SandboxAdapter, "runs_in_database", False)  # it stands in for a remote broker here
    response = live.post("placeorder", order())
    assert response.status_code == 500
    row = Order.objects.get()
    assert row.status == "UNKNOWN"  # not known to be rejected: it may exist at the broker
    assert row.events.filter(level="error", message__contains="may have reached").exists()


def test_it_refuses_an_order_that_would_grow_a_position_past_its_value_limit(live):
    from accounts.services.risk import update_risk_settings

    update_risk_settings(live.user, max_position_value=Decimal("10000"))
    Position.objects.create(user=live.user, account=live.account, exchange="NSE", symbol="SBIN", product="MIS",
                            net_quantity=Decimal(10), average_price=Decimal(800))
    response = live.post("placeorder", order(quantity="3"))  # 13 × 800 = 10400
    assert response.status_code == 400
    assert "Position value" in response.json()["message"]
    assert live.post("placeorder", order(quantity="2")).status_code == 200  # 12 × 800 = 9600
    assert live.post("placeorder", order(quantity="5", action="SELL")).status_code == 200  # reduces it


def test_analyze_mode_refuses_an_account_that_does_not_exist(market):
    """The sandbox is the broker in analyze mode, but a named account must exist, as in live mode."""
    trader = make_trader(analyze=True)
    TradingAccountFactory(user=trader.user, name="main")
    response = trader.post("placeorder", order(account="nope"))
    assert response.status_code == 400
    assert response.json()["message"].startswith("account:")
    assert not Order.objects.exists()
    response = trader.post("placeorder", order(account="main"))
    assert response.status_code == 200, response.json()
    assert Order.objects.get().is_analyze
