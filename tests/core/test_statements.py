"""core.statements writes and reads rows exactly as the ORM does, on SQLite and on PostgreSQL."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import statements
from sandbox.models import FundsLedger, LedgerKind, SandboxFunds, SandboxOrder, SandboxPosition
from tests.factories import UserFactory
from trading.models import Order, OrderEvent

pytestmark = pytest.mark.django_db

D = Decimal


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _position(user, **extra) -> SandboxPosition:
    return SandboxPosition(user=user, exchange="NSE", symbol="SBIN", product="MIS", **extra)


def test_insert_sets_the_key_and_stores_what_the_orm_reads_back():
    user = UserFactory()
    position = _position(user, quantity=D("-12.5"), average_price=D("812.123456789012"), realized_pnl=D("-0.05"),
                         last_fill_at=timezone.now())
    statements.insert(position)
    assert position.pk is not None
    assert not position._state.adding
    stored = SandboxPosition.objects.get(pk=position.pk)
    assert _fields(stored) == _fields(position)
    assert stored.created_at is not None
    assert stored.updated_at is not None


def test_a_violated_constraint_raises_integrity_error_like_the_orm():
    user = UserFactory()
    statements.insert(_position(user))
    with pytest.raises(IntegrityError), transaction.atomic():
        statements.insert(_position(user))


def test_update_writes_only_the_named_fields_and_refreshes_auto_now():
    user = UserFactory()
    position = _position(user, quantity=D("1"))
    statements.insert(position)
    before = position.updated_at
    SandboxPosition.objects.filter(pk=position.pk).update(realized_pnl=D("99.99"))  # someone else's change
    position.quantity, position.realized_pnl = D("7"), D("0")
    assert statements.update(position, ["quantity", "updated_at"]) == 1
    stored = SandboxPosition.objects.get(pk=position.pk)
    assert stored.quantity == D("7")
    assert stored.realized_pnl == D("99.99")  # not named: untouched
    assert stored.updated_at >= before


def test_select_one_returns_a_model_instance_with_converted_values():
    user = UserFactory()
    statements.insert(_position(user, average_price=D("100.000000000001"), last_fill_at=timezone.now()))
    found = statements.select_one(SandboxPosition, lock=True, user_id=user.pk, exchange="NSE", symbol="SBIN",
                                  product="MIS")
    assert isinstance(found.average_price, Decimal)
    assert found.average_price == D("100.000000000001")
    assert isinstance(found.last_fill_at, dt.datetime)
    assert timezone.is_aware(found.last_fill_at)
    assert _fields(found) == _fields(SandboxPosition.objects.get(pk=found.pk))
    assert not found._state.adding
    assert statements.select_one(SandboxPosition, user_id=user.pk, exchange="NSE", symbol="INFY",
                                 product="MIS") is None


def test_save_inserts_a_new_row_and_updates_a_stored_one():
    user = UserFactory()
    position = statements.save(_position(user, quantity=D("1")))
    position.quantity = D("3")
    statements.save(position)
    assert SandboxPosition.objects.get(pk=position.pk).quantity == D("3")
    assert SandboxPosition.objects.count() == 1


def test_insert_many_writes_every_row_and_follows_a_foreign_key_saved_after_assignment():
    user = UserFactory()
    funds = SandboxFunds.objects.create(user=user, starting_capital=D("100"), available=D("100"),
                                        today=dt.date(2026, 11, 23))
    position = _position(user)  # not saved when the ledger rows are made, as in a fill
    rows = [FundsLedger(user=user, kind=LedgerKind.BLOCK, amount=D("10.05"), position=position,
                        available_after=D("89.95"), used_margin_after=D("10.05"), realized_after=D("0")),
            FundsLedger(user=user, kind=LedgerKind.PNL, amount=D("-0.10"), position=position,
                        available_after=D("89.85"), used_margin_after=D("10.05"), realized_after=D("-0.10"))]
    statements.insert(position)
    statements.insert_many(rows)
    stored = list(FundsLedger.objects.filter(user=user).order_by("id").values_list("kind", "amount", "position_id"))
    assert stored == [(LedgerKind.BLOCK, D("10.05"), position.pk), (LedgerKind.PNL, D("-0.10"), position.pk)]
    assert funds.pk


def test_json_and_nullable_foreign_keys_round_trip():
    user = UserFactory()
    order = Order(user=user, exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"), price_type="MARKET",
                  product="MIS", status="COMPLETE", average_price=D("800.05"), overhead_ms=D("1.234"))
    statements.insert(order)
    event = OrderEvent(order=order, level="info", message="Sent", data={"orderid": "X1", "nested": [1, "a"]})
    statements.insert_many([event])
    stored = Order.objects.get(pk=order.pk)
    assert (stored.account_id, stored.parent_id, stored.overhead_ms) == (None, None, D("1.234"))
    assert OrderEvent.objects.get(pk=event.pk).data == {"orderid": "X1", "nested": [1, "a"]}


def test_a_sandbox_order_written_by_statements_matches_the_orm():
    user = UserFactory()
    via_statements = SandboxOrder(user=user, order_id="A1", exchange="NSE", symbol="SBIN", action="BUY",
                                  quantity=D("10"), price_type="LIMIT", product="MIS", price=D("799.95"),
                                  margin_blocked=D("1599.90"))
    via_orm = SandboxOrder(user=user, order_id="A2", exchange="NSE", symbol="SBIN", action="BUY",
                           quantity=D("10"), price_type="LIMIT", product="MIS", price=D("799.95"),
                           margin_blocked=D("1599.90"))
    statements.insert(via_statements)
    via_orm.save()
    first, second = (SandboxOrder.objects.get(pk=o.pk) for o in (via_statements, via_orm))
    ignore = {"id", "order_id", "created_at", "updated_at"}
    assert {k: v for k, v in _fields(first).items() if k not in ignore} == \
        {k: v for k, v in _fields(second).items() if k not in ignore}


def test_an_order_and_its_event_are_written_linked():
    user = UserFactory()
    order = Order(user=user, exchange="NSE", symbol="SBIN", action="SELL", quantity=D("2"), price_type="MARKET",
                  product="CNC", status="COMPLETE", client_order_id="c-1", placed_at=timezone.now())
    event = OrderEvent(order=order, level="info", message="Sent", data={"orderid": "B1"})
    statements.write([statements.Insert([order]), statements.Insert([event])])
    assert order.pk is not None
    assert event.pk is not None
    assert event.order_id == order.pk
    stored = OrderEvent.objects.select_related("order").get(pk=event.pk)
    assert (stored.order.client_order_id, stored.data, stored.message) == ("c-1", {"orderid": "B1"}, "Sent")
    assert _fields(Order.objects.get(pk=order.pk)) == _fields(order)


def test_neither_row_is_written_when_the_order_is_refused():
    user = UserFactory()
    first = Order(user=user, exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"), client_order_id="dup")
    statements.insert(first)
    again = Order(user=user, exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"), client_order_id="dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        statements.write([statements.Insert([again]), statements.Insert([OrderEvent(order=again, level="info",
                                                                                     message="Sent")])])
    assert Order.objects.filter(user=user).count() == 1
    assert not OrderEvent.objects.exists()


def _ledger(user, **refs) -> FundsLedger:
    return FundsLedger(user=user, kind=LedgerKind.BLOCK, amount=D("10.05"), available_after=D("89.95"),
                       used_margin_after=D("10.05"), realized_after=D("0"), **refs)


def test_write_runs_inserts_and_updates_and_links_rows_inserted_earlier_in_the_batch(django_assert_num_queries):
    from django.db import connection

    user = UserFactory()
    funds = SandboxFunds.objects.create(user=user, starting_capital=D("100"), available=D("100"),
                                        today=dt.date(2026, 11, 23))
    order = SandboxOrder(user=user, order_id="W1", exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"),
                         price_type="MARKET", product="MIS", status="COMPLETE", filled_quantity=D("1"))
    position = _position(user, quantity=D("1"), average_price=D("10.05"))
    rows = [_ledger(user, order=order, position=position), _ledger(user, order=order, position=position)]
    funds.available = D("79.90")
    ops = [statements.Insert([order]), statements.Insert([position]),
           statements.Update(funds, ("available", "updated_at")), statements.Insert(rows)]
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 4):
        statements.write(ops)
    assert all(obj.pk is not None for obj in (order, position, *rows))
    assert rows[0].pk != rows[1].pk
    stored = list(FundsLedger.objects.filter(user=user).values_list("id", "order_id", "position_id"))
    assert sorted(stored) == sorted((r.pk, order.pk, position.pk) for r in rows)
    assert SandboxFunds.objects.get(pk=funds.pk).available == D("79.90")
    assert _fields(SandboxPosition.objects.get(pk=position.pk)) == _fields(position)


def test_write_is_all_or_nothing():
    user = UserFactory()
    statements.insert(_position(user))
    order = SandboxOrder(user=user, order_id="W2", exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        statements.write([statements.Insert([order]), statements.Insert([_position(user)])])  # a duplicate
    assert not SandboxOrder.objects.exists()


def test_write_refuses_a_reference_to_a_row_not_inserted_before_it():
    user = UserFactory()
    order = SandboxOrder(user=user, order_id="W3", exchange="NSE", symbol="SBIN", action="BUY", quantity=D("1"))
    with pytest.raises(ValueError, match=r"not inserted before|unsaved related object"):
        statements.write([statements.Insert([_ledger(user, order=order)]), statements.Insert([order])])
