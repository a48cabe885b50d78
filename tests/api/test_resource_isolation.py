"""/api/ resource API: every resource is the requesting user's alone, for another trader and an operator."""
from __future__ import annotations

import pytest

from tests.api.conftest import session
from tests.api.factories import (
    HoldingFactory,
    OrderFactory,
    PendingOrderFactory,
    PositionFactory,
    TradeFactory,
    TradingAccountFactory,
)
from trading.models import Order, OrderStatus, PendingStatus

pytestmark = pytest.mark.django_db

RESOURCES = ["accounts", "orders", "trades", "positions", "holdings", "pending-orders"]


@pytest.fixture
def owned(owner) -> dict[str, object]:
    """One row of every kind, all the owner's."""
    account = TradingAccountFactory(user=owner.user, name="main", broker="sandbox")
    order = OrderFactory(user=owner.user, account=account)
    return {
        "accounts": account,
        "orders": order,
        "trades": TradeFactory(order=order),
        "positions": PositionFactory(user=owner.user, account=account),
        "holdings": HoldingFactory(user=owner.user, account=account),
        "pending-orders": PendingOrderFactory(user=owner.user, payload={
            "strategy": "t", "exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1"}),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize("path", RESOURCES)
def test_the_owner_lists_and_reads_their_rows(owner, owned, path):
    row = owned[path]
    assert ids(owner.get(f"{path}/")) == [row.pk]
    detail = owner.get(f"{path}/{row.pk}/")
    assert detail.status_code == 200
    assert detail.json()["id"] == row.pk


@pytest.mark.parametrize("path", RESOURCES)
def test_another_trader_and_an_operator_neither_list_nor_read_them(owned, intruders, path):
    row = owned[path]
    for intruder in intruders:
        assert ids(intruder.get(f"{path}/")) == [], f"{path} listed to {intruder.user}"
        assert intruder.get(f"{path}/{row.pk}/").status_code == 404


@pytest.mark.parametrize("path", ["orders", "trades", "positions", "holdings"])
def test_filtering_by_the_owners_account_finds_nothing_for_others(owned, intruders, path):
    account = owned["accounts"]
    for intruder in intruders:
        assert ids(intruder.get(f"{path}/", {"account_id": account.pk})) == []
        assert ids(intruder.get(f"{path}/", {"account": account.name})) == []


def test_others_cannot_change_or_delete_the_owners_account(owner, owned, intruders):
    account = owned["accounts"]
    for intruder in intruders:
        assert intruder.patch(f"accounts/{account.pk}/", {"name": "mine"}).status_code == 404
        assert intruder.put(f"accounts/{account.pk}/", {"name": "mine", "broker": "sandbox"}).status_code == 404
        assert intruder.delete(f"accounts/{account.pk}/").status_code == 404
    account.refresh_from_db()
    assert (account.name, account.user_id) == ("main", owner.user.pk)


def test_others_cannot_cancel_the_owners_order(owned, intruders):
    order = owned["orders"]
    for intruder in intruders:
        assert intruder.post(f"orders/{order.pk}/cancel/").status_code == 404
    assert Order.objects.get(pk=order.pk).status == OrderStatus.OPEN


def test_others_cannot_place_on_the_owners_account(owned, intruders):
    for intruder in intruders:
        response = intruder.post("orders/", {"account_id": owned["accounts"].pk, "exchange": "NSE", "symbol": "SBIN",
                                             "action": "BUY", "quantity": "1"})
        assert response.status_code == 400
        assert "account_id" in response.json()
    assert not Order.objects.exclude(pk=owned["orders"].pk).exists()


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_others_cannot_decide_the_owners_pending_orders(owned, intruders, decision):
    pending = owned["pending-orders"]
    for intruder in intruders:
        # Their keys may not decide at all; their verified sessions do not find the owner's row.
        assert intruder.post(f"pending-orders/{pending.pk}/{decision}/").status_code == 403
        assert session(intruder.user).post(f"/api/pending-orders/{pending.pk}/{decision}/").status_code == 404
    pending.refresh_from_db()
    assert pending.status == PendingStatus.PENDING


@pytest.mark.parametrize("path", [*RESOURCES, "instruments", "calendar/status", "calendar/holidays"])
def test_anonymous_requests_are_refused(market, path):
    from rest_framework.test import APIClient

    assert APIClient().get(f"/api/{path}/").status_code in (401, 403)
    assert APIClient().get(f"/api/{path}/", HTTP_X_API_KEY="bad.key").status_code in (401, 403)


def test_a_session_login_reads_the_same_rows(owner, owned):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(owner.user)
    response = client.get("/api/orders/")
    assert [row["id"] for row in response.json()["results"]] == [owned["orders"].pk]
