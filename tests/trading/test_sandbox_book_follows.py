"""The trading book follows the sandbox (found while fixing issue 8, item 6).

In analyze mode the user's order in the trading book (trading.Order, is_analyze) stands for an order
in the sandbox. When the sandbox fills, cancels or rejects that order later (the matching job, a price
update, square-off, a cancel), the trading book must say so in the same commit, with an order event.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from functools import partial

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sandbox.models import ExchangeGroup, SandboxConfig, SandboxOrder
from sandbox.services import matching, squareoff, tradebook
from sandbox.services.config import forget_config
from sandbox.services.prices import set_price
from tests.threads import run_together
from tests.trading.conftest import make_trader, order
from trading.models import Order, OrderEvent, OrderStatus

pytestmark = pytest.mark.django_db


def _rest(trader, **fields) -> str:
    response = trader.post("placeorder", order(**{"pricetype": "LIMIT", "price": "790", **fields}))
    assert response.status_code == 200, response.json()
    return response.json()["orderid"]


def _api_order(trader, orderid: str) -> dict:
    listing = trader.client.get("/api/orders/", HTTP_X_API_KEY=trader.key).json()
    rows = listing["results"] if isinstance(listing, dict) else listing
    return next(row for row in rows if row["broker_order_id"] == orderid)


def _book_entry(trader, orderid: str) -> dict:
    orders = trader.post("orderbook").json()["data"]["orders"]
    return next(o for o in orders if o["orderid"] == orderid)


def test_a_resting_limit_filled_by_the_matching_job_is_complete_everywhere(trader):
    orderid = _rest(trader)
    assert Order.objects.get(broker_order_id=orderid).status == OrderStatus.OPEN
    set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05", match=False)
    assert matching.sweep().fills == 1  # the Celery task's body (sandbox.tasks.match_all)
    row = Order.objects.get(broker_order_id=orderid)
    assert (row.status, row.filled_quantity, row.average_price) == (OrderStatus.COMPLETE, 10, D("790"))
    assert row.executed_at is not None
    event = row.events.get(data__reason="sandbox_match")
    assert event.message.startswith("Filled in the sandbox")
    assert event.data["status"] == "COMPLETE"
    assert _api_order(trader, orderid)["status"] == OrderStatus.COMPLETE
    assert D(_api_order(trader, orderid)["filled_quantity"]) == 10
    status = trader.post("orderstatus", {"orderid": orderid}).json()["data"]
    assert status["order_status"] == "complete"
    assert _book_entry(trader, orderid)["order_status"] == "complete"
    assert not Order.objects.filter(user=trader.user).open().exists()


def test_a_price_update_that_fills_updates_the_book_too(trader):
    orderid = _rest(trader)
    set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05")  # matching on the price write
    assert Order.objects.get(broker_order_id=orderid).status == OrderStatus.COMPLETE


def test_a_partial_fill_shows_what_filled(trader):
    SandboxConfig.objects.filter(pk=1).update(partial_fills=True)
    forget_config()
    orderid = _rest(trader)
    set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05", ask_qty=4, match=False)
    assert matching.sweep().fills == 1
    row = Order.objects.get(broker_order_id=orderid)
    assert (row.status, row.filled_quantity, row.executed_at) == (OrderStatus.PARTIALLY_FILLED, 4, None)
    assert "4 of 10" in row.events.get(data__reason="sandbox_match").message
    assert row in Order.objects.filter(user=trader.user).open()  # still counts as open
    set_price("NSE", "SBIN", "788", bid="787.95", ask="788.05", ask_qty=100, match=False)
    assert matching.sweep().fills == 1
    row.refresh_from_db()
    assert (row.status, row.filled_quantity) == (OrderStatus.COMPLETE, 10)
    assert row.events.filter(data__reason="sandbox_match").count() == 2


def test_square_off_cancels_the_book_order_with_an_event(trader):
    orderid = _rest(trader)
    tuesday = dt.datetime(2026, 12, 1, 15, 20, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    result = squareoff.square_off_group(ExchangeGroup.NSE, at=tuesday)
    assert result.cancelled == 1
    row = Order.objects.get(broker_order_id=orderid)
    assert row.status == OrderStatus.CANCELLED
    assert row.events.get(data__reason="sandbox_cancel").message == "Cancelled in the sandbox (MIS square-off)."


def test_a_cancel_in_the_sandbox_cancels_the_book_order(trader):
    from sandbox.services.orders import cancel_order

    orderid = _rest(trader)
    cancel_order(trader.user.pk, orderid)
    assert Order.objects.get(broker_order_id=orderid).status == OrderStatus.CANCELLED
    # Through the API as well: the sandbox's follower records it, once.
    other = _rest(trader)
    assert trader.post("cancelorder", {"orderid": other}).status_code == 200
    row = Order.objects.get(broker_order_id=other)
    assert row.status == OrderStatus.CANCELLED
    assert [e.message for e in row.events.filter(message__startswith="Cancelled")] == [
        "Cancelled in the sandbox (at the client's request)."]


def test_a_fill_the_funds_cannot_cover_rejects_the_book_order(trader):
    orderid = _rest(trader, quantity="1000")  # blocks 790,000 / 5 of the capital
    SandboxOrder.objects.filter(order_id=orderid).update(margin_blocked=0)  # pretend the margin was used up
    from sandbox.models import SandboxFunds
    SandboxFunds.objects.filter(user=trader.user).update(available=0)
    set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05", match=False)
    matching.sweep()
    row = Order.objects.get(broker_order_id=orderid)
    assert row.status == OrderStatus.REJECTED
    assert "(at fill)" in row.rejection_reason
    assert row.events.get(data__reason="sandbox_match").level == "warning"


def test_another_users_order_is_untouched_and_a_failure_rolls_back_both(trader, stranger, monkeypatch):
    mine, theirs = _rest(trader), _rest(stranger, price="700")
    set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05", match=False)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(OrderEvent.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        matching.sweep()
    # The same transaction: the sandbox's fill went with the trading book's failed write.
    assert SandboxOrder.objects.get(order_id=mine).status == "OPEN"
    assert Order.objects.get(broker_order_id=mine).status == OrderStatus.OPEN
    monkeypatch.undo()
    assert matching.sweep().fills == 1
    assert Order.objects.get(broker_order_id=mine).status == OrderStatus.COMPLETE
    assert Order.objects.get(broker_order_id=theirs).status == OrderStatus.OPEN


def _trading_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries
            if Order._meta.db_table in q["sql"] or OrderEvent._meta.db_table in q["sql"]]


@pytest.mark.parametrize("traders", [1, 3])
def test_a_sweep_writes_the_book_in_three_statements_per_user_whatever_the_fills(market, traders):
    """One SELECT ... FOR UPDATE, one UPDATE, one INSERT of events per user (and batch): the trading
    book's cost does not grow with the orders filled, and the sweep's own cost grows by the same
    statements per fill (no N+1)."""
    counts, totals = {}, {}
    for n in (2, 6, 10):
        accounts = [make_trader() for _ in range(traders)]
        ids = [_rest(t, quantity="1") for t in accounts for _ in range(n)]
        set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05", match=False)
        with CaptureQueriesContext(connection) as captured:
            assert matching.sweep().fills == n * traders
        counts[n], totals[n] = len(_trading_queries(captured)), len(captured)
        assert Order.objects.filter(broker_order_id__in=ids, status=OrderStatus.COMPLETE).count() == n * traders
        set_price("NSE", "SBIN", "800", bid="799.95", ask="800.05", match=False)
    assert counts == {2: 3 * traders, 6: 3 * traders, 10: 3 * traders}
    per_fill = (totals[6] - totals[2]) / (4 * traders)
    assert totals[10] - totals[6] == per_fill * 4 * traders  # linear: a constant cost per fill
    assert per_fill <= 8


def test_the_mapping_is_one(trader):
    """The reset and the matching map the sandbox's states through tradebook.book_status."""
    placed = SandboxOrder(status="OPEN", filled_quantity=D(3))
    assert tradebook.book_status(placed) == OrderStatus.PARTIALLY_FILLED
    assert tradebook.book_status(placed, closing=True) == OrderStatus.CANCELLED
    assert tradebook.book_status(SandboxOrder(status="TRIGGER_PENDING", filled_quantity=D(0))) == "TRIGGER_PENDING"
    assert tradebook.book_status(None) == OrderStatus.CANCELLED
    for final in ("COMPLETE", "CANCELLED", "REJECTED"):
        assert tradebook.book_status(SandboxOrder(status=final, filled_quantity=D(0)), closing=True) == final


def test_a_partly_filled_order_reads_the_same_from_the_pipeline_and_the_book_follower():
    """One mapping of a broker's word: the pipeline's answer (records.apply_result, as for a sandbox
    order placed in analyze mode) and the book follower agree on an open order with a fill."""
    from brokers.adapters.base import OrderResult
    from trading.services import records

    row = Order(status=OrderStatus.PENDING)
    records.apply_result(row, OrderResult(broker_order_id="S1", status="OPEN", filled_quantity=D(3)))
    assert row.status == OrderStatus.PARTIALLY_FILLED
    assert row.status == tradebook.book_status(SandboxOrder(status="OPEN", filled_quantity=D(3)))
    assert records.status_of("open", D(0)) == OrderStatus.OPEN
    assert records.status_of("complete", D(3)) == OrderStatus.COMPLETE


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_matching_racing_placements_leaves_the_book_equal_to_the_sandbox(market):
    """Placements (resting or filling at once, by the price of the moment) race sweeps and matching
    price writes: afterwards every trading row says what its sandbox order says, with one event per
    change, and nothing deadlocked."""
    from rest_framework.test import APIClient

    traders = [make_trader() for _ in range(3)]

    def place(trader) -> None:
        client = APIClient()
        for _ in range(4):
            response = client.post("/api/v1/placeorder", {"apikey": trader.key, **order(
                pricetype="LIMIT", price="790", quantity="1")}, format="json")
            assert response.status_code == 200, response.json()

    def move() -> None:
        for i in range(6):
            set_price("NSE", "SBIN", "800", bid="799.95", ask="800.05", match=False)
            if i % 2:
                set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05")  # matches on the write
            else:
                set_price("NSE", "SBIN", "789", bid="788.95", ask="789.05", match=False)
                matching.sweep()

    errors = run_together([partial(place, t) for t in traders for _ in range(3)] + [move, move])
    assert errors == []
    matching.sweep()  # the price stands at 789: whatever still rests fills now
    rows = Order.objects.filter(user__in=[t.user for t in traders])
    assert rows.count() == 36
    sandbox = {o.order_id: o for o in SandboxOrder.objects.filter(user__in=[t.user for t in traders])}
    for row in rows:
        assert (row.status, row.filled_quantity) == (tradebook.book_status(sandbox[row.broker_order_id]),
                                                     sandbox[row.broker_order_id].filled_quantity)
        assert row.status == OrderStatus.COMPLETE
        assert row.executed_at is not None
    matched = rows.filter(events__data__reason="sandbox_match")
    assert matched.count() == matched.distinct().count()  # one event per fill, never two
