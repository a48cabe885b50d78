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
