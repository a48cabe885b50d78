"""Syncing live accounts' open orders: fills found at the broker are booked once."""
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.trading.conftest import make_trader, order
from tests.trading.factories import PendingOrderFactory, TradingAccountFactory
from trading.models import Order, OrderStatus, PendingStatus, Position, Trade
from trading.services import sync
from trading.tasks import expire_pending_orders, sync_open_orders

pytestmark = pytest.mark.django_db


def test_a_resting_order_filled_later_is_booked_once(market):
    from sandbox.services.prices import set_price

    trader = make_trader(analyze=False)
    TradingAccountFactory(user=trader.user)
    orderid = trader.post("placeorder", order(pricetype="LIMIT", price="790", quantity="3")).json()["orderid"]
    assert Order.objects.get().status == OrderStatus.OPEN
    assert sync_open_orders() == "synced 1 account(s), 0 order(s) changed, 0 account(s) failed"
    set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05")  # the sandbox fills the limit
    assert sync_open_orders() == "synced 1 account(s), 1 order(s) changed, 0 account(s) failed"
    row = Order.objects.get(broker_order_id=orderid)
    assert row.status == OrderStatus.COMPLETE
    assert row.filled_quantity == 3
    trade = Trade.objects.get()
    assert trade.quantity == 3
    assert Position.objects.get().net_quantity == 3
    assert sync.sync_all() == (0, 0, 0)  # nothing open any more
    assert Trade.objects.count() == 1


def test_undecided_requests_expire(db):
    old = PendingOrderFactory()
    type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    fresh = PendingOrderFactory()
    assert expire_pending_orders() == "expired 1 pending order(s)"
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == (PendingStatus.REJECTED, PendingStatus.PENDING)


def test_the_schedules_are_seeded(db):
    from django_celery_beat.models import PeriodicTask

    tasks = dict(PeriodicTask.objects.filter(name__startswith="trading: ").values_list("task", "interval__every"))
    assert tasks == {"trading.tasks.sync_open_orders": 60, "trading.tasks.expire_pending_orders": 3600,
                     "trading.tasks.reconcile_unknown_orders": 60}
