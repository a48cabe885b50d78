"""Fifty orders at once against one user's funds on PostgreSQL: never overdrawn, ledger invariant kept."""
from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from django.db import connection

from brokers.adapters.base import AdapterContext, OrderRejected, OrderSpec
from sandbox.adapter import SandboxAdapter
from sandbox.models import OrderStatus, SandboxOrder
from sandbox.services.funds import check_invariant, get_funds
from sandbox.services.prices import set_price
from tests.sandbox.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run_all(jobs) -> list:
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def run(i: int, job) -> None:
        try:
            barrier.wait()
            outcomes[i] = job()
        except Exception as exc:  # collected and asserted on below
            outcomes[i] = exc
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def test_fifty_concurrent_orders_never_overdraw(sbin):
    user = UserFactory()
    set_price("NSE", "SBIN", D("1000"))
    adapter = SandboxAdapter(AdapterContext(user_id=user.pk))
    get_funds(user.pk)  # opened beforehand: the race is on the funds row, not on creating it
    # Each needs 3,00,000 (CNC, paid in full): the one crore covers 33 of the 50.
    order = OrderSpec(exchange="NSE", symbol="SBIN", action="BUY", quantity=D("300"), product="CNC")
    outcomes = _run_all([lambda: adapter.place_order(order)] * 50)

    filled = [o for o in outcomes if not isinstance(o, Exception)]
    rejected = [o for o in outcomes if isinstance(o, OrderRejected)]
    assert len(filled) + len(rejected) == 50, [o for o in outcomes if isinstance(o, Exception)
                                               and not isinstance(o, OrderRejected)]
    assert len(filled) == 33
    assert all("Insufficient funds" in r.message for r in rejected)
    funds = check_invariant(user)
    assert funds.available == D("100000.00")
    assert funds.used_margin == D("9900000.00")
    assert SandboxOrder.objects.filter(user=user, status=OrderStatus.COMPLETE).count() == 33


def test_orders_cancels_and_matching_at_once_keep_the_ledger(sbin):
    user = UserFactory()
    set_price("NSE", "SBIN", D("1000"))
    adapter = SandboxAdapter(AdapterContext(user_id=user.pk))
    resting = [adapter.place_order(OrderSpec(exchange="NSE", symbol="SBIN", action="BUY", quantity=D("10"),
                                                price_type="LIMIT", price=D(990 - i)))
               for i in range(20)]
    jobs = []
    for i in range(30):
        action = "BUY" if i % 2 else "SELL"
        jobs.append(lambda a=action: adapter.place_order(
            OrderSpec(exchange="NSE", symbol="SBIN", action=a, quantity=D("7"))))
    for r in resting[:10]:
        jobs.append(lambda oid=r.broker_order_id: adapter.cancel_order(oid))
    for p in ("995", "985", "975", "970", "1000", "980", "972", "990", "1001", "971"):
        jobs.append(lambda price=p: set_price("NSE", "SBIN", D(price)))
    outcomes = _run_all(jobs)
    unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, (OrderRejected,))]
    assert unexpected == []
    funds = check_invariant(user)
    assert funds.available >= 0
    assert not SandboxOrder.objects.filter(user=user, status__in=("OPEN",), margin_blocked__lt=0).exists()
