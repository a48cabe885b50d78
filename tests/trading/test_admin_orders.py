"""The books in the admin: pages render, state is read-only, actions go through the pipeline."""
import pytest
from django.urls import reverse

from accounts.models import OrderMode
from sandbox.models import SandboxOrder
from tests.accounts.conftest import enroll, sign_in
from tests.factories import StaffFactory
from tests.trading.conftest import make_trader, order
from trading.models import Order, OrderStatus, PendingOrder, PendingStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    operator = StaffFactory()
    return sign_in(client, operator, enroll(operator))


def test_every_page_renders_and_nothing_can_be_added(staff, trader):
    trader.post("placeorder", order())
    row = Order.objects.get()
    for model in ("order", "trade", "position", "positionhistory", "holding", "orderevent", "pendingorder"):
        assert staff.get(reverse(f"admin:trading_{model}_changelist")).status_code == 200, model
        assert staff.get(reverse(f"admin:trading_{model}_add")).status_code == 403, model
    page = staff.get(reverse("admin:trading_order_change", args=[row.pk]))
    assert page.status_code == 200
    assert b"Sent to sandbox" in page.content  # the events inline
    assert staff.post(reverse("admin:trading_order_change", args=[row.pk]), {"status": "CANCELLED"}).status_code == 403


def test_the_order_list_searches_by_broker_id(staff, trader):
    orderid = trader.post("placeorder", order()).json()["orderid"]
    trader.post("placeorder", order())
    found = staff.get(reverse("admin:trading_order_changelist"), {"q": orderid}).context["cl"].queryset
    assert [o.broker_order_id for o in found] == [orderid]


def test_the_cancel_action_cancels_at_the_broker(staff, trader):
    orderid = trader.post("placeorder", order(pricetype="LIMIT", price="700")).json()["orderid"]
    row = Order.objects.get(broker_order_id=orderid)
    response = staff.post(reverse("admin:trading_order_changelist"),
                          {"action": "cancel_orders", "_selected_action": [row.pk]}, follow=True)
    assert response.status_code == 200
    assert SandboxOrder.objects.get(order_id=orderid).status == OrderStatus.CANCELLED
    assert Order.objects.get(pk=row.pk).status == OrderStatus.CANCELLED


def test_approve_and_reject_actions(staff, market):
    semi = make_trader(mode=OrderMode.SEMI_AUTO)
    semi.post("placeorder", order())
    semi.post("placeorder", order())
    first, second = PendingOrder.objects.order_by("id")
    url = reverse("admin:trading_pendingorder_changelist")
    staff.post(url, {"action": "approve", "_selected_action": [first.pk]}, follow=True)
    staff.post(url, {"action": "reject", "_selected_action": [second.pk]}, follow=True)
    staff.post(url, {"action": "approve", "_selected_action": [first.pk, second.pk]}, follow=True)
    assert PendingOrder.objects.get(pk=first.pk).status == PendingStatus.APPROVED
    assert PendingOrder.objects.get(pk=second.pk).status == PendingStatus.REJECTED
    assert Order.objects.count() == 1
    assert Order.objects.get().pending_id == first.pk


def _orders(count: int) -> None:
    """`count` orders of fresh users, half of them on a live account of their own."""
    from tests.factories import UserFactory
    from tests.trading.factories import TradingAccountFactory

    rows = []
    for number in range(count):
        user = UserFactory()
        account = TradingAccountFactory(user=user, is_primary=False) if number % 2 else None
        rows.append(Order(user=user, account=account, exchange="NSE", symbol="SBIN", action="BUY", quantity=1,
                          broker_order_id=f"X{number}"))
    Order.objects.bulk_create(rows)


def test_the_order_list_runs_a_fixed_number_of_queries_and_never_counts_the_whole_table(staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:trading_order_changelist")
    _orders(3)
    staff.get(url)  # the session's and the second factor's first reads
    with CaptureQueriesContext(connection) as few:
        assert staff.get(url).status_code == 200
    _orders(40)
    with CaptureQueriesContext(connection) as many:
        page = staff.get(url)
    assert len(page.context["cl"].result_list) == 43
    # session, user, device, the capped count, the sidebar's add check (sandbox config), the rows
    assert len(many) == len(few) == 6
    counts = [q["sql"] for q in many.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    assert "LIMIT 10001" in counts[0]
    assert "ORDER BY" not in counts[0]  # a LIMITed scan without a sort stops early
    since = "2026-01-01 00:00:00+05:30"
    for filtered in ({"status__exact": "PENDING"}, {"is_analyze__exact": "0", "placed_at__gte": since}):
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(url, filtered).status_code == 200
        assert len(queries) == 6, filtered


def test_a_count_past_the_cap_reads_as_at_least(staff, monkeypatch):
    from core.bigtables import CappedCountPaginator
    from trading.admin.orders import OrderAdmin

    monkeypatch.setattr(CappedCountPaginator, "cap", 10)
    monkeypatch.setattr(OrderAdmin, "list_per_page", 4)
    _orders(12)
    page = staff.get(reverse("admin:trading_order_changelist"))
    cl = page.context["cl"]
    assert (cl.result_count, str(cl.result_count), cl.paginator.num_pages) == (10, "10+", 3)
    assert len(cl.result_list) == 4
    assert b"10+ orders" in page.content
    assert b'name="_selected_action" value="' in page.content  # the rows' checkboxes, as Django's
    assert staff.get(reverse("admin:trading_order_changelist"), {"p": 3}).status_code == 200
