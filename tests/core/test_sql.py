"""core.sql writes rows exactly as the ORM does, in one statement on PostgreSQL, and never skips a signal."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from core import sql
from sandbox.models import FundsLedger, LedgerKind, SandboxFunds, SandboxOrder, SandboxPosition
from tests.factories import UserFactory
from trading.models import Order, OrderEvent

pytestmark = pytest.mark.django_db

D = Decimal
ONE_ON_PG = connection.vendor == "postgresql"


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in sql.concrete_fields(type(obj))}


def _position(user, **extra) -> SandboxPosition:
    return SandboxPosition(user=user, exchange="NSE", symbol="SBIN", product="MIS", **extra)


def _ledger(user, **refs) -> FundsLedger:
    return FundsLedger(user=user, kind=LedgerKind.BLOCK, amount=D("10.05"), available_after=D("89.95"),
                       used_margin_after=D("10.05"), realized_after=D("0"), **refs)


def test_an_order_and_its_event_are_written_linked_as_the_orm_reads_them_back():
    user = UserFactory()
    order = Order(user=user, exchange="NSE", symbol="SBIN", action="SELL", quantity=D("2"), price_type="MARKET",
                  product="CNC", status="COMPLETE", client_order_id="c-1", placed_at=timezone.now())
    event = OrderEvent(order=order, level="info", message="Sent", data={"orderid": "B1"})
    sql.write([sql.Insert([order]), sql.Insert([event])])
    assert order.pk is not None
    assert event.pk is not None
    assert event.order_id == order.pk
    stored = OrderEvent.objects.select_related("order").get(pk=event.pk)
    assert (stored.order.client_order_id, stored.data, stored.message) == ("c-1", {"orderid": "B1"}, "Sent")
    assert _fields(Order.objects.get(pk=order.pk)) == _fields(order)


def test_inserts_and_updates_go_as_one_statement_on_postgresql_and_link_rows_inserted_before(
        django_assert_num_queries):
    user = UserFactory()
    funds = SandboxFunds.objects.create(user=user, starting_capital=D("100"), available=D("100"),
                                        today=dt.date(2026, 11, 23))
    order = SandboxOrder(user=user, order_id="W1", exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"),
                         price_type="MARKET", product="MIS", status="COMPLETE", filled_quantity=D("1"))
    position = _position(user, quantity=D("-12.5"), average_price=D("812.123456789012"), last_fill_at=timezone.now())
    rows = [_ledger(user, order=order, position=position), _ledger(user, order=order, position=position)]
    funds.available = D("79.90")
    ops = [sql.Insert([order]), sql.Insert([position]), sql.Update(funds, ("available", "updated_at")),
           sql.Insert(rows)]
    with django_assert_num_queries(1 if ONE_ON_PG else 4):
        sql.write(ops)
    assert all(obj.pk is not None for obj in (order, position, *rows))
    stored = list(FundsLedger.objects.filter(user=user).values_list("id", "order_id", "position_id"))
    assert sorted(stored) == sorted((r.pk, order.pk, position.pk) for r in rows)
    assert SandboxFunds.objects.get(pk=funds.pk).available == D("79.90")
    assert _fields(SandboxPosition.objects.get(pk=position.pk)) == _fields(position)


def test_an_update_writes_only_the_named_fields():
    user = UserFactory()
    position = _position(user, quantity=D("1"))
    position.save()
    order = SandboxOrder(user=user, order_id="W4", exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"))
    SandboxPosition.objects.filter(pk=position.pk).update(realized_pnl=D("99.99"))  # someone else's change
    position.quantity, position.realized_pnl = D("7"), D("0")
    sql.write([sql.Insert([order]), sql.Update(position, ("quantity", "updated_at"))])
    stored = SandboxPosition.objects.get(pk=position.pk)
    assert (stored.quantity, stored.realized_pnl) == (D("7"), D("99.99"))


def test_a_write_is_all_or_nothing():
    user = UserFactory()
    _position(user).save()
    order = SandboxOrder(user=user, order_id="W2", exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.write([sql.Insert([order]), sql.Insert([_position(user)])])  # a duplicate position
    assert not SandboxOrder.objects.exists()


def test_a_reference_to_a_row_written_after_it_is_refused():
    user = UserFactory()
    order = SandboxOrder(user=user, order_id="W3", exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"))
    with pytest.raises(ValueError, match=r"not written before|unsaved related object"):
        sql.write([sql.Insert([_ledger(user, order=order)]), sql.Insert([order])])


def test_a_model_with_save_receivers_goes_through_the_orm_so_no_signal_is_skipped():
    user = UserFactory()
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((type(instance).__name__, created))

    post_save.connect(receiver, sender=OrderEvent)
    try:
        order = Order(user=user, exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"))
        sql.write([sql.Insert([order]), sql.Insert([OrderEvent(order=order, level="info", message="Sent")])])
    finally:
        post_save.disconnect(receiver, sender=OrderEvent)
    assert seen == [("OrderEvent", True)]
    assert OrderEvent.objects.get().order_id == order.pk
