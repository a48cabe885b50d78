"""Semi-auto keys: order requests wait in the action center; approval places them exactly once."""
import threading

import pytest
from django.db import connection

from accounts.models import OrderMode
from sandbox.models import SandboxOrder
from tests.factories import StaffFactory, verified
from tests.trading.conftest import make_trader, order
from trading.models import Order, PendingOrder, PendingStatus
from trading.services.pending import NotAllowed, approve_pending, reject_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def semi(market):
    return make_trader(mode=OrderMode.SEMI_AUTO)


def test_it_queues_a_placeorder_and_answers_like_openalgo(semi):
    response = semi.post("placeorder", order())
    assert response.status_code == 200
    body = response.json()
    pending = PendingOrder.objects.get(user=semi.user)
    assert body == {"status": "success", "message": "Order queued for approval in Action Center",
                    "mode": "semi_auto", "pending_order_id": pending.pk}
    assert "apikey" not in pending.payload  # the key is a secret
    assert pending.status == PendingStatus.PENDING
    assert not Order.objects.exists()
    assert not SandboxOrder.objects.exists()


@pytest.mark.parametrize("path", ["placesmartorder", "basketorder", "splitorder"])
def test_it_queues_every_kind_of_order_request(semi, path):
    bodies = {"placesmartorder": order(position_size="10"), "splitorder": order(splitsize="5"),
              "basketorder": {"strategy": "s", "orders": [order()]}}
    response = semi.post(path, bodies[path])
    assert response.status_code == 200
    assert response.json()["mode"] == "semi_auto"
    assert PendingOrder.objects.get(user=semi.user).api_type == path


def test_bad_input_is_refused_before_it_is_queued(semi):
    response = semi.post("placeorder", order(quantity="0"))
    assert response.status_code == 400
    assert not PendingOrder.objects.exists()


@pytest.mark.parametrize("path", ["modifyorder", "cancelorder", "cancelallorder", "closeposition"])
def test_it_refuses_changes_from_a_semi_auto_key(semi, path):
    response = semi.post(path, {"strategy": "s", "orderid": "1"})
    assert response.status_code == 403
    assert response.json()["status"] == "error"


def test_approval_places_the_order_once(semi):
    semi.post("placeorder", order(quantity="3"))
    pending = PendingOrder.objects.get()
    done = approve_pending(pending, verified(semi.user))
    assert done.status == PendingStatus.APPROVED
    assert done.decided_by == semi.user
    assert done.result["status"] == "success"
    placed = Order.objects.get()
    assert placed.pending == pending
    assert done.result["orderid"] == placed.broker_order_id
    again = approve_pending(pending, verified(semi.user))  # a double click
    assert again.status == PendingStatus.APPROVED
    assert Order.objects.count() == 1
    assert SandboxOrder.objects.count() == 1


@pytest.mark.postgres  # SQLite's shared in-memory test database locks whole tables under threads
def test_two_concurrent_approvals_place_it_once(semi, transactional_db):
    semi.post("placeorder", order())
    pending = PendingOrder.objects.get()
    operator = verified(StaffFactory())

    def approve() -> None:
        try:
            approve_pending(PendingOrder.objects.get(pk=pending.pk), operator)
        finally:
            connection.close()  # each thread has its own connection; leave none open at teardown

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Order.objects.count() == 1


def test_a_rejected_request_is_never_placed(semi):
    semi.post("placeorder", order())
    pending = PendingOrder.objects.get()
    assert reject_pending(pending, verified(semi.user), "not today").status == PendingStatus.REJECTED
    assert approve_pending(pending, verified(semi.user)).status == PendingStatus.REJECTED
    assert not Order.objects.exists()


def test_a_stranger_cannot_approve(semi, stranger):
    semi.post("placeorder", order())
    pending = PendingOrder.objects.get()
    with pytest.raises(NotAllowed):
        approve_pending(pending, stranger.user)
    assert PendingOrder.objects.get().status == PendingStatus.PENDING


def test_a_risk_refusal_at_approval_is_kept_on_the_request(semi):
    from accounts.services.risk import update_risk_settings

    semi.post("placeorder", order())
    update_risk_settings(semi.user, trading_enabled=False)
    done = approve_pending(PendingOrder.objects.get(), verified(semi.user))
    assert done.status == PendingStatus.APPROVED
    assert "kill switch" in done.error
    assert done.result["status"] == "error"
