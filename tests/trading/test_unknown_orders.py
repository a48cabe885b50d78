"""Orders whose broker answer was lost: UNKNOWN (awaiting confirmation), never open, never sent twice,
settled by the reconcile against the broker's order book (issue 8, item 5).

The broker is a fake OpenAlgo server on a real socket (fake_upstream) reached by the real openalgo
adapter; its read timeout is cut so a "slow" placeorder loses its answer after booking the order.
"""
from __future__ import annotations

from datetime import timedelta
from time import perf_counter

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from brokers.adapters.openalgo import close_clients, strategy_tag
from tests.trading.conftest import make_trader, order
from tests.trading.factories import OrderFactory, TradingAccountFactory
from tests.trading.fake_upstream import API_KEY, FakeUpstream
from trading import tasks
from trading.models import Order, OrderStatus, Trade
from trading.openalgo_api.shapes import OPENALGO_STATUS
from trading.services import reconcile, risk

pytestmark = pytest.mark.django_db


@pytest.fixture
def upstream(settings):
    settings.OPENALGO_READ_TIMEOUT = 0.25
    server = FakeUpstream()
    yield server
    close_clients()
    server.close()


@pytest.fixture
def live(market, upstream):
    trader = make_trader(analyze=False)
    trader.account = TradingAccountFactory(user=trader.user, name="main", broker="openalgo",
                                           credentials={"host_url": upstream.url, "api_key": API_KEY})
    return trader


def lose_an_answer(live, upstream, mode: str = "slow", **fields) -> Order:
    upstream.mode = mode
    response = live.post("placeorder", order(client_order_id="cid-1", strategy="breakout", **fields))
    assert response.status_code == 500
    assert "awaiting confirmation" in response.json()["message"]
    upstream.mode = "fill"
    return Order.objects.get(client_order_id="cid-1")


def test_a_timeout_after_sending_leaves_the_order_awaiting_confirmation(live, upstream):
    row = lose_an_answer(live, upstream)
    assert row.status == OrderStatus.UNKNOWN
    assert row.get_status_display() == "Awaiting confirmation"
    assert row.broker_order_id == ""
    assert row.events.filter(level="error", message__contains="may have reached").exists()
    # The order's reference travelled upstream in OpenAlgo's strategy tag, after the user's own tag.
    assert upstream.placed[0]["strategy"] == f"breakout [AD-{row.pk}]"


def test_an_order_awaiting_confirmation_is_not_counted_as_open(live, upstream):
    from accounts.services.risk import update_risk_settings

    row = lose_an_answer(live, upstream)
    assert risk.open_orders(live.user.pk) == 0
    assert not Order.objects.open().filter(pk=row.pk).exists()
    assert not row.is_open
    update_risk_settings(live.user, max_open_orders=1)
    assert live.post("placeorder", order(pricetype="LIMIT", price="800")).status_code == 200


def test_a_repeat_is_answered_at_once_and_places_nothing(live, upstream):
    row = lose_an_answer(live, upstream)
    started = perf_counter()
    response = live.post("placeorder", order(client_order_id="cid-1", strategy="breakout"))
    assert perf_counter() - started < 1.0  # not the 5 s wait for a PENDING first request
    assert response.status_code == 409
    assert f"Order {row.pk}" in response.json()["message"]
    assert f"/api/orders/{row.pk}/" in response.json()["message"]
    assert "awaiting confirmation" in response.json()["message"]
    assert len(upstream.placed) == 1


def test_the_reconcile_matches_by_reference_and_fills_in_the_broker_id(live, upstream):
    row = lose_an_answer(live, upstream)
    upstream.tags = True
    # Another order with the same fields, placed at the broker by someone else: tagged, so never ours.
    upstream.add({"action": "BUY", "exchange": "NSE", "symbol": "SBIN", "quantity": "10", "strategy": "manual"})
    call_command("reconcile_orders")
    row.refresh_from_db()
    assert row.status == OrderStatus.COMPLETE
    assert row.broker_order_id == upstream.orders[0]["orderid"]
    event = row.events.get(message__startswith="Confirmed")
    assert event.data["matched_by"] == "reference"
    trade = Trade.objects.get(order=row)  # the fill is booked, as the status sync books fills
    assert (trade.quantity, str(trade.price)) == (10, "812.5000")


def test_the_reconcile_matches_by_fields_when_the_book_has_no_tags(live, upstream):
    OrderFactory(user=live.user, account=live.account, broker_order_id="2612010000099", status=OrderStatus.COMPLETE)
    row = lose_an_answer(live, upstream)
    # The book also holds a row of ours already (taken) and one placed long before: neither is this order.
    upstream.add({"action": "BUY", "exchange": "NSE", "symbol": "SBIN", "quantity": "10"},
                 at=timezone.now() - timedelta(hours=1))
    upstream.orders[-1]["orderid"] = "2612010000099"
    upstream.add({"action": "BUY", "exchange": "NSE", "symbol": "SBIN", "quantity": "10"},
                 at=timezone.now() - timedelta(hours=1))
    summary = reconcile.reconcile_all()
    assert (summary.matched, summary.rejected, summary.waiting) == (1, 0, 0)
    row.refresh_from_db()
    assert (row.status, row.broker_order_id) == (OrderStatus.COMPLETE, upstream.orders[0]["orderid"])
    assert row.events.get(message__startswith="Confirmed").data["matched_by"] == "fields"
    assert reconcile.reconcile_all().accounts == 0  # settled once


def test_the_reconcile_gives_up_after_the_window(live, upstream, settings):
    row = lose_an_answer(live, upstream, mode="lost")
    assert upstream.orders == []  # the request never reached the broker
    assert reconcile.reconcile_all().waiting == 1  # within the window: it may still show up
    row.refresh_from_db()
    assert row.status == OrderStatus.UNKNOWN
    later = row.placed_at + timedelta(minutes=settings.ORDER_RECONCILE_WINDOW_MINUTES, seconds=1)
    assert reconcile.reconcile_all(now=later).rejected == 1
    row.refresh_from_db()
    assert row.status == OrderStatus.REJECTED
    assert "Not found in the broker's order book" in row.rejection_reason
    assert row.events.filter(level="warning", message=row.rejection_reason).exists()
    # The repeat is now refused with the reason, at once.
    response = live.post("placeorder", order(client_order_id="cid-1", strategy="breakout"))
    assert response.status_code == 400
    assert "Not found in the broker's order book" in response.json()["message"]


def test_an_unreadable_order_book_gives_nothing_up(live, upstream):
    row = lose_an_answer(live, upstream, mode="lost")
    upstream.book_fails = True
    summary = reconcile.reconcile_all(now=timezone.now() + timedelta(days=1))
    assert (summary.failed, summary.waiting, summary.rejected) == (1, 1, 0)
    row.refresh_from_db()
    assert row.status == OrderStatus.UNKNOWN


def test_the_schedule_is_in_the_database_and_the_task_runs_the_reconcile(live, upstream):
    task = PeriodicTask.objects.get(task="trading.tasks.reconcile_unknown_orders")
    assert task.enabled
    assert task.interval.every == 60
    row = lose_an_answer(live, upstream)
    assert "1 order(s) matched" in tasks.reconcile_unknown_orders.run()
    row.refresh_from_db()
    assert row.status == OrderStatus.COMPLETE


def test_the_strategy_tag_keeps_the_users_tag_first_and_fits_100_characters():
    assert strategy_tag("breakout", "AD-42") == "breakout [AD-42]"
    assert strategy_tag("", "AD-42") == "AlgoDesk [AD-42]"
    assert strategy_tag("breakout") == "breakout"
    long = strategy_tag("x" * 100, "AD-1234567")
    assert len(long) == 100
    assert long.endswith(" [AD-1234567]")


def test_apis_show_the_state(live, upstream):
    row = lose_an_answer(live, upstream)
    assert OPENALGO_STATUS[OrderStatus.UNKNOWN] == "open"  # may be working at the broker: never "rejected"
    response = live.client.get(f"/api/orders/{row.pk}/", HTTP_X_API_KEY=live.key)
    assert response.status_code == 200
    assert response.json()["status"] == "UNKNOWN"


def test_a_brokers_unknown_word_is_never_our_awaiting_state():
    from trading.services.records import status_of

    assert status_of("unknown") == OrderStatus.OPEN
    assert status_of("UNKNOWN") == OrderStatus.OPEN


def test_two_overlapping_runs_settle_an_order_once(live, upstream):
    row = lose_an_answer(live, upstream)
    book = reconcile.adapter_for(live.account).order_book()
    first, second = Order.objects.get(pk=row.pk), Order.objects.get(pk=row.pk)  # read by both runs
    assert reconcile.settle(first, book[0], "fields") == 1
    assert reconcile.settle(second, book[0], "fields") == 0
    assert Trade.objects.filter(order=row).count() == 1
    assert row.events.filter(message__startswith="Confirmed").count() == 1


def test_the_admin_shows_the_state_and_its_action_reconciles(live, upstream, client):
    from django.urls import reverse

    from tests.accounts.conftest import enroll, sign_in
    from tests.factories import StaffFactory

    operator = StaffFactory()
    staff = sign_in(client, operator, enroll(operator))
    row = lose_an_answer(live, upstream)
    page = staff.get(reverse("admin:trading_order_changelist"), {"status__exact": "UNKNOWN"})
    assert b"Awaiting confirmation" in page.content
    assert list(page.context["cl"].queryset) == [row]
    response = staff.post(reverse("admin:trading_order_changelist"),
                          {"action": "reconcile_orders", "_selected_action": [row.pk]}, follow=True)
    assert any("1 order(s) matched" in str(m) for m in response.context["messages"])
    row.refresh_from_db()
    assert row.status == OrderStatus.COMPLETE


def test_one_accounts_fault_does_not_stop_the_others(live, upstream, monkeypatch):
    row = lose_an_answer(live, upstream)
    broken = TradingAccountFactory(user=live.user, name="broken", broker="openalgo", is_primary=False,
                                   credentials={"host_url": upstream.url, "api_key": API_KEY})
    OrderFactory(user=live.user, account=broken, status=OrderStatus.UNKNOWN, broker_order_id="")
    real = reconcile.adapter_for

    def adapter_for(account):
        if account.pk == broken.pk:
            raise RuntimeError("credentials cannot be decrypted")
        return real(account)

    monkeypatch.setattr(reconcile, "adapter_for", adapter_for)
    summary = reconcile.reconcile_all()
    assert (summary.accounts, summary.matched, summary.failed) == (2, 1, 1)
    row.refresh_from_db()
    assert row.status == OrderStatus.COMPLETE
