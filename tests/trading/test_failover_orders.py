"""Failover never re-sends an order: orders keep the account they were routed to (their sync and the
reconcile of a lost answer read that account), and only new orders go to the new primary. Real
loopback upstreams, stopped and started by the test (tests/brokers/loopback_upstream.py)."""
from __future__ import annotations

import pytest

from brokers.services import health
from brokers.services.accounts import primary_account
from tests.trading.conftest import order
from trading.models import Order, OrderStatus
from trading.services import reconcile, sync

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_timeouts(settings):
    settings.BROKER_HEALTH_CHECK_TIMEOUT = 1.0
    settings.OPENALGO_READ_TIMEOUT = 0.3


def checks(times: int) -> None:
    for _ in range(times):
        health.run_checks()


def test_orders_are_never_sent_twice_across_a_failover_and_a_fail_back(live, servers):
    first = live.post("placeorder", order(client_order_id="c1"))
    assert first.status_code == 200, first.json()
    servers["main"].stop()
    refused = live.post("placeorder", order(client_order_id="c2"))  # main is down: refused, nothing sent
    assert refused.status_code == 500
    checks(3)
    assert primary_account(live.user).name == "backup"
    sync.sync_all()
    reconcile.reconcile_all()
    assert servers["backup"].count("placeorder") == 0  # nothing of main's went to the new primary
    assert Order.objects.get(client_order_id="c2").status == OrderStatus.REJECTED
    third = live.post("placeorder", order(client_order_id="c3"))
    assert third.status_code == 200
    assert Order.objects.get(client_order_id="c3").account == live.accounts["backup"]
    servers["main"].start()
    checks(5)
    assert primary_account(live.user).name == "main"
    sync.sync_all()
    reconcile.reconcile_all()
    assert (servers["main"].count("placeorder"), servers["backup"].count("placeorder")) == (1, 1)
    assert dict(Order.objects.values_list("client_order_id", "account__name")) == {
        "c1": "main", "c2": "main", "c3": "backup"}


def test_an_order_whose_answer_was_lost_is_settled_at_its_own_broker_after_a_failover(live, servers):
    servers["main"].order_delay = 0.6  # books the order, answers after the client gave up
    lost = live.post("placeorder", order(client_order_id="lost"))
    assert lost.status_code == 500
    row = Order.objects.get(client_order_id="lost")
    assert row.status == OrderStatus.UNKNOWN
    servers["main"].order_delay = 0
    servers["main"].stop()
    checks(3)
    assert primary_account(live.user).name == "backup"
    servers["main"].start()
    summary = reconcile.reconcile_all()  # reads main's book, where the order is
    row.refresh_from_db()
    assert row.status == OrderStatus.COMPLETE, str(summary)
    assert row.broker_order_id == "main-1"
    assert servers["main"].count("placeorder") == 1
    assert servers["backup"].count("placeorder") == 0


def test_an_order_refused_for_an_expired_session_marks_the_account_at_once(live, servers):
    from accounts.models import Activity, ActivityLog
    from brokers.models import ConnectionStatus, TradingAccount

    servers["main"].session_expired = True
    response = live.post("placeorder", order(client_order_id="s1"))
    assert response.status_code == 400
    assert "Invalid openalgo apikey" in response.json()["message"]
    assert Order.objects.get(client_order_id="s1").status == OrderStatus.REJECTED
    main = TradingAccount.objects.get(pk=live.accounts["main"].pk)
    assert main.connection_status == ConnectionStatus.NEEDS_LOGIN
    assert ActivityLog.objects.filter(user=live.user, action=Activity.BROKER_NEEDS_LOGIN).count() == 1
    assert primary_account(live.user).name == "main"  # no failover for an expired session
