"""Matching: only crossed orders fill; one query per instrument whatever the number of resting orders."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from sandbox.models import OrderStatus, SandboxOrder
from sandbox.services import matching
from sandbox.services.prices import set_price, stored_quote
from tests.sandbox.factories import price

pytestmark = pytest.mark.django_db


def _rest_many(sandbox, n: int, *, symbol: str = "SBIN") -> None:
    price(symbol, "1000")
    for i in range(n):
        sandbox.place(symbol, "BUY", 1, price_type="LIMIT", price=str(900 - i % 50))
        sandbox.place(symbol, "SELL", 1, price_type="SL-M", trigger=str(800 - i % 50))


@pytest.mark.parametrize("n", [1, 40])
def test_a_price_that_crosses_nothing_costs_one_query(sandbox, django_assert_max_num_queries, n):
    _rest_many(sandbox, n)
    quote = stored_quote("NSE", "SBIN")
    with django_assert_max_num_queries(1):
        assert matching.match_instrument("NSE", "SBIN", quote) == 0


def test_the_sweep_costs_one_query_whatever_the_instruments(sandbox, django_assert_max_num_queries):
    for symbol in ("SBIN", "INFY", "TCS"):
        _rest_many(sandbox, 10, symbol=symbol)
    with django_assert_max_num_queries(1):  # resting orders joined to their prices, crossing test in SQL
        result = matching.sweep()
    assert (result.crossed, result.fills) == (0, 0)


def test_it_fills_only_the_orders_the_price_crosses_oldest_first(sandbox, other_sandbox):
    price("SBIN", "1000")
    first = other_sandbox.place("SBIN", "BUY", 1, price_type="LIMIT", price="950")
    second = sandbox.place("SBIN", "BUY", 1, price_type="LIMIT", price="950")
    far = sandbox.place("SBIN", "BUY", 1, price_type="LIMIT", price="900")
    price("SBIN", "949", owners=[sandbox, other_sandbox])
    statuses = {o.order_id: o.status for o in SandboxOrder.objects.all()}
    assert statuses[first.broker_order_id] == statuses[second.broker_order_id] == OrderStatus.COMPLETE
    assert statuses[far.broker_order_id] == OrderStatus.OPEN
    a, b = (SandboxOrder.objects.get(order_id=r.broker_order_id) for r in (first, second))
    assert a.trades.get().id < b.trades.get().id


def test_the_sweep_fills_what_a_price_written_without_matching_crossed(sandbox):
    price("SBIN", "1000")
    result = sandbox.place("SBIN", "SELL", 3, price_type="LIMIT", price="1010")
    set_price("NSE", "SBIN", D("1012"), match=False)
    assert SandboxOrder.objects.get(order_id=result.broker_order_id).status == OrderStatus.OPEN
    assert matching.sweep().fills == 1
    sandbox.check()
    order = SandboxOrder.objects.get(order_id=result.broker_order_id)
    assert (order.status, order.average_price) == (OrderStatus.COMPLETE, D("1010"))
    assert matching.sweep().fills == 0  # idempotent


def test_a_cancelled_order_never_fills(sandbox):
    price("SBIN", "1000")
    result = sandbox.place("SBIN", "BUY", 1, price_type="LIMIT", price="990")
    sandbox.cancel(result.broker_order_id)
    price("SBIN", "980", owners=[sandbox])
    assert SandboxOrder.objects.get(order_id=result.broker_order_id).status == OrderStatus.CANCELLED
    assert sandbox.funds().used_margin == 0


def test_the_match_all_task_summarises_in_one_line(sandbox):
    from sandbox import tasks

    price("SBIN", "1000")
    sandbox.place("SBIN", "SELL", 3, price_type="LIMIT", price="1010")
    set_price("NSE", "SBIN", D("1015"), match=False)
    assert tasks.match_all.run() == "sandbox sweep: 1 resting orders crossed by their stored price, 1 filled"
    assert tasks.match_all.run() == "sandbox sweep: 0 resting orders crossed by their stored price, 0 filled"


def test_the_sweep_fills_in_bounded_batches_oldest_first(sandbox):
    price("SBIN", "1000")
    first, second = (sandbox.place("SBIN", "SELL", 1, price_type="LIMIT", price="1010") for _ in range(2))
    set_price("NSE", "SBIN", D("1010"), match=False)
    assert matching.sweep(limit=1).fills == 1
    assert SandboxOrder.objects.get(order_id=first.broker_order_id).status == OrderStatus.COMPLETE
    assert SandboxOrder.objects.get(order_id=second.broker_order_id).status == OrderStatus.OPEN
    assert matching.sweep(limit=1).fills == 1
    sandbox.check()
