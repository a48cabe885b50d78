"""A sandbox reset closes the user's analyze-mode orders in the trading book (issue 8, item 6).

`manage.py sandbox reset` empties the sandbox's own order book; the trading book's record of what the
user sent must not keep saying OPEN for orders that no longer exist anywhere.
"""
from __future__ import annotations

import pytest
from django.core.management import call_command

from sandbox.services import matching, reset
from sandbox.services.prices import set_price
from tests.threads import run_together
from tests.trading.conftest import make_trader, order
from trading.models import Order, OrderStatus

pytestmark = pytest.mark.django_db


def test_a_reset_cancels_the_orders_still_open_with_an_event(trader, stranger):
    resting = trader.post("placeorder", order(pricetype="LIMIT", price="700")).json()["orderid"]
    filled = trader.post("placeorder", order()).json()["orderid"]
    theirs = stranger.post("placeorder", order(pricetype="LIMIT", price="700")).json()["orderid"]
    assert Order.objects.get(broker_order_id=resting).status == OrderStatus.OPEN
    call_command("sandbox", "reset", trader.user.username)
    row = Order.objects.get(broker_order_id=resting)
    assert row.status == OrderStatus.CANCELLED
    assert row.events.get(data__reason="sandbox_reset").message.startswith("Cancelled by a sandbox reset")
    assert Order.objects.get(broker_order_id=filled).status == OrderStatus.COMPLETE  # history, untouched
    assert Order.objects.get(broker_order_id=theirs).status == OrderStatus.OPEN  # another user's sandbox
    assert not Order.objects.filter(user=trader.user).open().exists()
    # The trader's orderbook (the fresh sandbox) and the trading book agree: nothing is open.
    assert trader.post("orderbook").json()["data"]["orders"] == []


def test_an_order_the_sandbox_had_filled_closes_as_complete(trader):
    resting = trader.post("placeorder", order(pricetype="LIMIT", price="790")).json()["orderid"]
    set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05", match=False)
    assert matching.sweep().fills == 1  # the sandbox filled it (and the trading book follows it)...
    Order.objects.filter(broker_order_id=resting).update(status=OrderStatus.OPEN)  # ...say it lagged
    reset.reset_user(trader.user.pk)
    row = Order.objects.get(broker_order_id=resting)
    assert (row.status, row.filled_quantity) == (OrderStatus.COMPLETE, 10)
    assert "as the sandbox last had it: complete" in row.events.get(data__reason="sandbox_reset").message


def test_the_orders_are_closed_in_the_reset_transaction(trader, monkeypatch):
    resting = trader.post("placeorder", order(pricetype="LIMIT", price="700")).json()["orderid"]

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(reset, "write_ledger", broken)
    with pytest.raises(RuntimeError):
        reset.reset_user(trader.user.pk)
    row = Order.objects.get(broker_order_id=resting)
    assert row.status == OrderStatus.OPEN  # rolled back with the rest of the reset
    assert not row.events.filter(data__reason="sandbox_reset").exists()


def test_the_weekly_reset_closes_them_too(market):
    trader = make_trader()
    resting = trader.post("placeorder", order(pricetype="LIMIT", price="700")).json()["orderid"]
    assert reset.reset_all() >= 1
    assert Order.objects.get(broker_order_id=resting).status == OrderStatus.CANCELLED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_resets_racing_placements_leave_no_open_order_without_its_sandbox_order(market):
    from rest_framework.test import APIClient

    from sandbox.models import SandboxOrder

    trader = make_trader()

    def place() -> None:  # 15 placers x 3 = 45 orders: under the default limit of 50 open orders
        client = APIClient()
        for _ in range(3):
            response = client.post("/api/v1/placeorder", {"apikey": trader.key, **order(
                pricetype="LIMIT", price="700", quantity="1")}, format="json")
            assert response.status_code == 200, response.json()

    def wipe() -> None:
        for _ in range(3):
            reset.reset_user(trader.user.pk)

    errors = run_together([place] * 15 + [wipe] * 2)
    assert errors == []
    still_open = set(Order.objects.filter(user=trader.user).open().values_list("broker_order_id", flat=True))
    in_sandbox = set(SandboxOrder.objects.filter(user=trader.user).values_list("order_id", flat=True))
    assert still_open == in_sandbox  # what the trading book calls open is exactly what the sandbox holds
    closed = Order.objects.filter(user=trader.user, status=OrderStatus.CANCELLED)
    assert closed.count() == Order.objects.filter(user=trader.user, events__data__reason="sandbox_reset").count()
    assert closed.count() + len(still_open) == 45
