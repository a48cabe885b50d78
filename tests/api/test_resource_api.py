"""/api/ resource API: write-only credentials, orders through the pipeline, the action center,
filters, pagination, instruments and the calendar."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.models import OrderMode
from brokers.models import Instrument, TradingAccount
from tests.api.conftest import persona, session
from tests.api.factories import OrderFactory, PositionFactory, TradingAccountFactory
from trading.models import Order, OrderStatus, PendingOrder, PendingStatus

pytestmark = pytest.mark.django_db

OPENALGO_CREDENTIALS = {"host_url": "http://127.0.0.1:5000", "api_key": "s3cret-key-value"}
BUY = {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "10"}


# --- trading accounts ---------------------------------------------------------------------------
def test_credentials_are_accepted_but_never_returned(owner):
    response = owner.post("accounts/", {"name": "zerodha", "broker": "openalgo", "credentials": OPENALGO_CREDENTIALS})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "credentials" not in body
    assert body["credential_keys"] == ["api_key", "host_url"]
    assert "s3cret" not in str(owner.get(f"accounts/{body['id']}/").json())
    assert "s3cret" not in str(owner.get("accounts/").json())
    assert TradingAccount.objects.get(pk=body["id"]).credentials == OPENALGO_CREDENTIALS


def test_updating_one_credential_keeps_the_others(owner):
    account = owner.post("accounts/", {"name": "z", "broker": "openalgo", "credentials": OPENALGO_CREDENTIALS}).json()
    response = owner.patch(f"accounts/{account['id']}/", {"credentials": {"api_key": "rotated",
                                                                          "websocket_url": "ws://127.0.0.1:8765"}})
    assert response.status_code == 200, response.json()
    assert response.json()["credential_keys"] == ["api_key", "host_url", "websocket_url"]
    stored = TradingAccount.objects.get(pk=account["id"]).credentials
    assert stored == {**OPENALGO_CREDENTIALS, "api_key": "rotated", "websocket_url": "ws://127.0.0.1:8765"}
    owner.patch(f"accounts/{account['id']}/", {"credentials": {"websocket_url": None}})
    assert "websocket_url" not in TradingAccount.objects.get(pk=account["id"]).credentials


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "broker": "nobroker"}, "broker"),
    ({"name": "x", "broker": "openalgo", "credentials": {**OPENALGO_CREDENTIALS, "password": "p"}}, "credentials"),
    ({"name": "x", "broker": "openalgo", "credentials": {"api_key": "k", "host_url": "ftp://x"}}, "credentials"),
    ({"name": "", "broker": "sandbox"}, "name"),
    ({"broker": "sandbox"}, "name"),
])
def test_bad_account_input_is_400_naming_the_field(owner, body, field):
    response = owner.post("accounts/", body)
    assert response.status_code == 400
    assert field in response.json()


def test_account_names_are_unique_per_user(owner, other):
    assert owner.post("accounts/", {"name": "main", "broker": "sandbox"}).status_code == 201
    assert owner.post("accounts/", {"name": "main", "broker": "sandbox"}).json().keys() == {"name"}
    assert other.post("accounts/", {"name": "main", "broker": "sandbox"}).status_code == 201


def test_making_an_account_primary_unsets_the_old_one(owner):
    first = owner.post("accounts/", {"name": "a", "broker": "sandbox", "is_primary": True}).json()
    second = owner.post("accounts/", {"name": "b", "broker": "sandbox", "is_primary": True}).json()
    assert second["is_primary"] is True
    assert owner.get(f"accounts/{first['id']}/").json()["is_primary"] is False
    owner.patch(f"accounts/{first['id']}/", {"is_primary": True})
    assert list(TradingAccount.objects.filter(is_primary=True).values_list("name", flat=True)) == ["a"]


def test_an_account_with_orders_cannot_be_deleted(owner):
    account = TradingAccountFactory(user=owner.user)
    OrderFactory(user=owner.user, account=account)
    response = owner.delete(f"accounts/{account.pk}/")
    assert response.status_code == 409
    assert TradingAccount.objects.filter(pk=account.pk).exists()
    unused = TradingAccountFactory(user=owner.user, is_primary=False)
    assert owner.delete(f"accounts/{unused.pk}/").status_code == 204


# --- orders -------------------------------------------------------------------------------------
def test_creating_an_order_runs_the_pipeline(owner):
    response = owner.post("orders/", {**BUY, "symbol": "sbin", "strategy": "api"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == OrderStatus.COMPLETE
    assert body["is_analyze"] is True
    assert Decimal(body["average_price"]) == Decimal("800.05")
    assert Order.objects.get(pk=body["id"]).broker_order_id == body["broker_order_id"]
    assert owner.v1("orderbook").json()["data"]["orders"][0]["orderid"] == body["broker_order_id"]


@pytest.mark.parametrize(("fields", "field"), [
    ({"quantity": "0"}, "quantity"),
    ({"exchange": "LSE"}, "exchange"),
    ({"symbol": "NOPE"}, "symbol"),
    ({"price_type": "LIMIT"}, "price"),
    ({"action": "HOLD"}, "action"),
])
def test_bad_order_input_is_400_naming_the_field(owner, fields, field):
    response = owner.post("orders/", {**BUY, **fields})
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Order.objects.exists()


def test_a_risk_refusal_is_400_and_points_at_the_recorded_order(owner):
    from accounts.models import RiskSettings

    RiskSettings.objects.update_or_create(user=owner.user, defaults={"trading_enabled": False})
    response = owner.post("orders/", BUY)
    assert response.status_code == 400
    body = response.json()
    refused = Order.objects.get(pk=body["order_id"])
    assert (refused.user_id, refused.status) == (owner.user.pk, OrderStatus.REJECTED)
    assert body["detail"] == refused.rejection_reason


def test_an_inactive_account_cannot_take_orders(owner):
    account = TradingAccountFactory(user=owner.user, is_active=False, is_primary=False)
    response = owner.post("orders/", {**BUY, "account_id": account.pk})
    assert response.status_code == 400
    assert response.json() == {"account_id": ["no such active trading account."]}


def test_a_semi_auto_key_queues_the_order_for_approval(owner):
    semi = persona(owner.user, analyze=False, mode=OrderMode.SEMI_AUTO)
    response = semi.post("orders/", BUY)
    assert response.status_code == 202
    pending = PendingOrder.objects.get(pk=response.json()["id"])
    assert (pending.status, pending.payload["symbol"]) == (PendingStatus.PENDING, "SBIN")
    assert not Order.objects.exists()


def test_cancel_cancels_an_open_order_once(owner):
    resting = owner.post("orders/", {**BUY, "action": "SELL", "price_type": "LIMIT", "price": "900"}).json()
    assert resting["status"] == OrderStatus.OPEN
    response = owner.post(f"orders/{resting['id']}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == OrderStatus.CANCELLED
    assert owner.post(f"orders/{resting['id']}/cancel/").status_code == 409


def test_orders_filter_by_status_exchange_symbol_account_and_day(owner):
    account = TradingAccountFactory(user=owner.user, name="main")
    done = OrderFactory(user=owner.user, account=account, status=OrderStatus.COMPLETE)
    fut = OrderFactory(user=owner.user, exchange="NFO", symbol="NIFTY30DEC26FUT")
    old = OrderFactory(user=owner.user, placed_at=dt.datetime(2026, 1, 27, 4, 0, tzinfo=dt.UTC))

    def found(**params):
        return {row["id"] for row in owner.get("orders/", params).json()["results"]}

    assert found(status="COMPLETE") == {done.pk}
    assert found(status=["COMPLETE", "OPEN"]) == {done.pk, fut.pk, old.pk}
    assert found(exchange="NFO") == {fut.pk}
    assert found(symbol="nifty30dec26fut") == {fut.pk}
    assert found(account_id=account.pk) == found(account="main") == {done.pk}
    assert found(date="2026-01-27") == {old.pk}
    assert found(placed_before="2026-01-28T00:00:00Z") == {old.pk}
    assert owner.get("orders/", {"status": "LOST"}).status_code == 400


def test_orders_page_by_cursor_newest_first(owner):
    made = [OrderFactory(user=owner.user).pk for _ in range(5)]
    first = owner.get("orders/", {"page_size": 2}).json()
    assert [row["id"] for row in first["results"]] == made[::-1][:2]
    second = owner.client.get(first["next"], HTTP_X_API_KEY=owner.key).json()
    assert [row["id"] for row in second["results"]] == made[::-1][2:4]


# --- positions, holdings, trades ----------------------------------------------------------------
def test_positions_filter_open_ones(owner):
    open_ = PositionFactory(user=owner.user)
    PositionFactory(user=owner.user, net_quantity=0)
    assert [r["id"] for r in owner.get("positions/", {"open": "true"}).json()["results"]] == [open_.pk]


# --- the action center --------------------------------------------------------------------------
def test_approving_a_pending_order_places_it_exactly_once(owner):
    semi = persona(owner.user, analyze=False, mode=OrderMode.SEMI_AUTO)
    pending_id = semi.post("orders/", BUY).json()["id"]
    person = session(owner.user)  # the owner, signed in with a second factor
    response = person.post(f"/api/pending-orders/{pending_id}/approve/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == PendingStatus.APPROVED
    assert body["decided_by"] == owner.user.username
    assert body["result"]["orderid"] == Order.objects.get().broker_order_id
    assert person.post(f"/api/pending-orders/{pending_id}/approve/").status_code == 409
    assert Order.objects.count() == 1


def test_rejecting_a_pending_order_places_nothing(owner):
    semi = persona(owner.user, analyze=False, mode=OrderMode.SEMI_AUTO)
    pending_id = semi.post("orders/", BUY).json()["id"]
    person = session(owner.user)
    response = person.post(f"/api/pending-orders/{pending_id}/reject/", {"reason": "not today"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["error"]) == (PendingStatus.REJECTED, "not today")
    assert person.post(f"/api/pending-orders/{pending_id}/approve/").status_code == 409
    assert not Order.objects.exists()
    assert [r["id"] for r in owner.get("pending-orders/", {"status": "rejected"}).json()["results"]] == [pending_id]


# --- instruments and the calendar ---------------------------------------------------------------
def test_instruments_are_shared_and_searchable(owner, other, market):
    mine = owner.get("instruments/", {"q": "state bank"}).json()
    assert [r["symbol"] for r in mine["results"]] == ["SBIN"]
    assert other.get("instruments/", {"q": "state bank"}).json() == mine
    assert [r["symbol"] for r in owner.get("instruments/", {"instrument_type": "FUT"}).json()["results"]] == [
        "NIFTY30DEC26FUT"]
    assert owner.get(f"instruments/{market['SBIN'].pk}/").json()["lot_size"] == 1
    assert owner.post("instruments/", {"symbol": "X"}).status_code == 405


def test_calendar_status_of_an_exchange(owner):
    body = owner.get("calendar/status/", {"exchange": "NSE"}).json()
    assert body["exchange"] == "NSE"
    assert body["state"] in {"PRE_OPEN", "OPEN", "CLOSED", "POST_CLOSE"}
    assert body["is_open"] is (body["state"] == "OPEN")
    assert body["opens_at"]
    assert body["closes_at"]
    assert body["reason"]
    assert "exchange" in owner.get("calendar/status/", {"exchange": "LSE"}).json()
    assert owner.get("calendar/status/").status_code == 400


def test_calendar_holidays_of_a_year(owner):
    rows = owner.get("calendar/holidays/", {"year": 2026}).json()
    republic = next(r for r in rows if r["date"] == "2026-01-26")
    assert republic["description"] == "Republic Day"
    assert "NSE" in republic["closed_exchanges"]
    assert "year" in owner.get("calendar/holidays/", {"year": "soon"}).json()


# --- pagination guard ---------------------------------------------------------------------------
def test_pagination_refuses_an_unordered_queryset(rf):
    from rest_framework.request import Request

    from core.resource_api.pagination import OrderedPageNumberPagination

    request = Request(rf.get("/api/instruments/"))
    with pytest.raises(ImproperlyConfigured, match="unordered"):
        OrderedPageNumberPagination().paginate_queryset(Instrument.objects.order_by(), request)
    assert OrderedPageNumberPagination().paginate_queryset(Instrument.objects.all(), request) == []
