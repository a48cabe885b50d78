"""Risk limits under concurrent orders of one user (several keys, one thread each) on PostgreSQL.

Every order of a user takes the user's risk lock before its checks and holds it until its rows are
written, so no limit is exceeded however the requests interleave. The sandbox stands in for both
kinds of broker: one that runs in the database (its fill is inside the locked transaction) and, with
runs_in_database off, a remote one (the order is inserted PENDING under the lock, sent after it).
"""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import OrderMode
from accounts.services import apikeys
from accounts.services.risk import update_risk_settings
from sandbox.adapter import SandboxAdapter
from sandbox.services.prices import set_price
from tests.trading.conftest import make_trader, order
from tests.trading.factories import InstrumentFactory, OrderFactory, TradingAccountFactory
from trading.models import OPEN_STATUSES, Order, OrderStatus, Position

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _fire(keys: list[str], bodies: list[dict], threads: int = 25) -> list[int]:
    """POST every body to placeorder from `threads` threads at once (each sends its share in turn; at
    most 25 connections, so two test processes stay within PostgreSQL's default 100), keys in turn."""
    count = min(threads, len(bodies))
    barrier = threading.Barrier(count)
    codes: list[int] = [0] * len(bodies)

    def run(first: int) -> None:
        try:
            client = APIClient()
            barrier.wait()
            for i in range(first, len(bodies), count):
                response = client.post("/api/v1/placeorder", {"apikey": keys[i % len(keys)], **bodies[i]},
                                       format="json")
                codes[i] = response.status_code
        finally:
            connection.close()  # each thread had its own connection

    workers = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return codes


def _keys(trader, count: int) -> list[str]:
    return [trader.key] + [apikeys.create_key(trader.user, f"key-{n}", OrderMode.AUTO)[1] for n in range(count - 1)]


@pytest.fixture
def tcs(sandbox_day):
    InstrumentFactory(exchange="NSE", symbol="TCS", lot_size=1, tick_size=Decimal("0.05"))
    set_price("NSE", "TCS", "4100")


@pytest.mark.parametrize("remote", [False, True], ids=["in-database broker", "remote broker"])
def test_concurrent_orders_never_push_a_position_past_its_value_limit(tcs, monkeypatch, remote):
    if remote:
        monkeypatch.setattr(SandboxAdapter, "runs_in_database", False)
    trader = make_trader(analyze=False)
    TradingAccountFactory(user=trader.user, name="main")
    update_risk_settings(trader.user, max_position_value=Decimal("5000000"), max_order_value=Decimal("0"))
    # 240 x 4,100 = 9,84,000 an order: five fit in 50,00,000, a sixth does not.
    codes = _fire(_keys(trader, 5), [order(symbol="TCS", quantity="240")] * 50)
    assert sorted(set(codes)) == [200, 400], codes
    assert codes.count(200) == 5
    position = Position.objects.get(user=trader.user, symbol="TCS")
    assert position.net_quantity == 1200
    assert position.net_quantity * Decimal("4100") <= Decimal("5000000")
    assert Order.objects.filter(user=trader.user, status=OrderStatus.REJECTED).count() == 45


def test_concurrent_limit_orders_never_exceed_max_open_orders(market):
    trader = make_trader()
    update_risk_settings(trader.user, max_open_orders=50)
    OrderFactory.create_batch(45, user=trader.user, is_analyze=True, status=OrderStatus.OPEN)
    resting = order(pricetype="LIMIT", price="700", quantity="1")  # a buy limit below the ask rests
    codes = _fire(_keys(trader, 5), [resting] * 15)
    assert codes.count(200) == 5, codes
    assert Order.objects.filter(user=trader.user, status__in=OPEN_STATUSES).count() == 50


@pytest.mark.parametrize("remote", [False, True], ids=["in-database broker", "remote broker"])
def test_concurrent_orders_never_exceed_max_orders_per_day(market, monkeypatch, remote):
    if remote:
        monkeypatch.setattr(SandboxAdapter, "runs_in_database", False)
    trader = make_trader()
    update_risk_settings(trader.user, max_orders_per_day=7)
    codes = _fire(_keys(trader, 3), [order(quantity="1")] * 20)
    assert codes.count(200) == 7, codes
    assert Order.objects.filter(user=trader.user, status=OrderStatus.COMPLETE).count() == 7
