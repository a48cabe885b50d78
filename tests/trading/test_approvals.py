"""Approving or rejecting a pending order is a person's act: a session verified by a second factor (the
owner on the action center page, or an operator in the admin), never an API key of any mode."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import KEY_CAPABILITIES, Capability, OrderMode
from tests.accounts.conftest import sign_in
from tests.factories import StaffFactory, UserFactory, enrolled
from tests.trading.conftest import make_trader, order
from trading.models import Order, PendingOrder, PendingStatus
from trading.services.pending import NotAllowed, approve_pending

pytestmark = pytest.mark.django_db


def named_routes(resolver: URLResolver | None = None, namespace: str = "", prefix: str = "") -> list[tuple]:
    """(name to reverse, route text) of every named URL pattern of the project."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += named_routes(entry, inner, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((namespace + entry.name, prefix + str(entry.pattern)))
    return found


def decision_paths(pending_id: int) -> list[str]:
    """Every route that approves or rejects (the resource API's, the owner's page; /api/v1/ has none),
    found in the URLconf so that a route added later is covered too."""
    names = {name for name, route in named_routes() if "approve" in route or "reject" in route}
    return sorted({reverse(name, kwargs={"pk": pending_id}) for name in names})


@pytest.fixture
def semi(market):
    return make_trader(mode=OrderMode.SEMI_AUTO)


@pytest.fixture
def queued(semi) -> PendingOrder:
    semi.post("placeorder", order(quantity="3"))
    return PendingOrder.objects.get(user=semi.user)


def test_no_kind_of_key_may_decide():
    assert all(Capability.DECIDE not in capabilities for capabilities in KEY_CAPABILITIES.values())


@pytest.mark.parametrize("mode", OrderMode.values)
def test_no_api_key_approves_or_rejects_on_any_route(semi, queued, mode):
    paths = decision_paths(queued.pk)
    assert paths == [f"/action-center/{queued.pk}/approve/", f"/action-center/{queued.pk}/reject/",
                     f"/api/pending-orders/{queued.pk}/approve/", f"/api/pending-orders/{queued.pk}/reject/"]
    key = semi if mode == OrderMode.SEMI_AUTO else make_trader(mode=mode, user=semi.user)
    for path in paths:
        api = path.startswith("/api/")
        for send in ({"HTTP_X_API_KEY": key.key}, {"HTTP_AUTHORIZATION": f"Api-Key {key.key}"}, {}):
            response = key.client.post(path, {"apikey": key.key}, format="json", **send)
            # The API refuses the key; the page does not know keys at all (it asks for a sign-in).
            assert response.status_code == (403 if api else 302), (path, send, response.content)
            if api:
                assert "person" in response.json()["detail"]
    queued.refresh_from_db()
    assert queued.status == PendingStatus.PENDING
    assert not Order.objects.exists()


def test_a_session_without_a_second_factor_may_not_decide(semi, queued):
    person = sign_in(Client(), semi.user)  # password only
    for decision in ("approve", "reject"):
        assert person.post(f"/api/pending-orders/{queued.pk}/{decision}/").status_code == 403
    assert PendingOrder.objects.get().status == PendingStatus.PENDING


def test_the_service_refuses_a_user_reached_through_an_api_key(semi, queued):
    with pytest.raises(NotAllowed, match="second factor"):
        approve_pending(queued, semi.user)  # a plain user row, as ApiKeyAuthentication gives
    assert PendingOrder.objects.get().status == PendingStatus.PENDING


# --- The owner's action center page ---------------------------------------------------------------

@pytest.fixture
def owner_page(semi) -> Client:
    return sign_in(Client(), semi.user, enrolled(semi.user))


def test_the_owner_sees_what_is_waiting(owner_page, queued):
    page = owner_page.get(reverse("trading:action_center")).content.decode()
    assert "NSE:<strong>SBIN</strong>" in page
    assert "<strong>3</strong>" in page
    assert "BUY" in page
    assert "MARKET" in page
    assert "MIS" in page
    assert "key-semi_auto" in page  # the key that sent it


def test_the_owner_approves_on_their_page(owner_page, queued):
    response = owner_page.post(reverse("trading:approve_pending", args=[queued.pk]), follow=True)
    assert response.status_code == 200
    queued.refresh_from_db()
    assert queued.status == PendingStatus.APPROVED
    placed = Order.objects.get()
    assert placed.pending == queued
    assert f"order {placed.broker_order_id} placed" in response.content.decode()
    again = owner_page.post(reverse("trading:approve_pending", args=[queued.pk]), follow=True)
    assert "already approved" in again.content.decode()
    assert Order.objects.count() == 1


def test_the_owner_rejects_with_a_reason(owner_page, queued):
    owner_page.post(reverse("trading:reject_pending", args=[queued.pk]), {"reason": "too big"})
    queued.refresh_from_db()
    assert (queued.status, queued.error) == (PendingStatus.REJECTED, "too big")
    assert not Order.objects.exists()


def test_another_trader_cannot_see_or_decide_the_owners_requests(queued):
    other = UserFactory()
    page = sign_in(Client(), other, enrolled(other))
    assert "SBIN" not in page.get(reverse("trading:action_center")).content.decode()
    assert page.post(reverse("trading:approve_pending", args=[queued.pk])).status_code == 404
    assert page.post(reverse("trading:reject_pending", args=[queued.pk])).status_code == 404
    assert PendingOrder.objects.get().status == PendingStatus.PENDING


def test_the_page_needs_a_second_factor_even_when_demos_relax_it(settings, semi, queued):
    settings.REQUIRE_SECOND_FACTOR = False
    person = sign_in(Client(), semi.user)  # no device at all
    response = person.get(reverse("trading:action_center"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp_setup"))
    assert person.post(reverse("trading:approve_pending", args=[queued.pk])).status_code == 302
    assert PendingOrder.objects.get().status == PendingStatus.PENDING


def test_an_operator_still_approves_in_the_admin(semi, queued):
    operator = StaffFactory()
    admin = sign_in(Client(), operator, enrolled(operator))
    response = admin.post(reverse("admin:trading_pendingorder_changelist"),
                          {"action": "approve", "_selected_action": [queued.pk]})
    assert response.status_code == 302
    queued.refresh_from_db()
    assert (queued.status, queued.decided_by) == (PendingStatus.APPROVED, operator)
    assert Order.objects.get().pending == queued


# --- What each kind of key may do -----------------------------------------------------------------

def test_a_read_only_key_reads_but_never_trades(market):
    reader = make_trader(mode=OrderMode.READ_ONLY)
    assert reader.post("orderbook").status_code == 200
    assert reader.post("funds").status_code == 200
    assert reader.client.get("/api/orders/", HTTP_X_API_KEY=reader.key).status_code == 200
    for path in ("placeorder", "placesmartorder", "cancelorder", "modifyorder", "closeposition"):
        response = reader.post(path, order(orderid="1", position_size="1"))
        assert response.status_code == 403, path
        assert response.json() == {"status": "error", "message": "This operation is not allowed for a "
                                                                 "read-only API key."}
    assert reader.post("analyzer/toggle", {"mode": False}).status_code == 403
    assert reader.client.post("/api/orders/", {"exchange": "NSE", "symbol": "SBIN", "action": "BUY",
                                               "quantity": "1"}, format="json",
                              HTTP_X_API_KEY=reader.key).status_code == 403
    assert not Order.objects.exists()
    assert not PendingOrder.objects.exists()


# --- No view can forget ---------------------------------------------------------------------------

def api_view_classes() -> dict[str, type]:
    """The DRF view class behind every /api/ route of the URLconf."""
    found = {}
    for entry in _patterns():
        view = getattr(entry.callback, "cls", None) or getattr(entry.callback, "view_class", None)
        if view is not None and entry.route.startswith("api/"):
            found[entry.route] = view
    return found


class _Entry:
    def __init__(self, route: str, callback) -> None:
        self.route, self.callback = route, callback


def _patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[_Entry]:
    entries = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            entries += _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            entries.append(_Entry(prefix + str(entry.pattern), entry.callback))
    return entries


def test_every_api_view_checks_what_the_credential_may_do():
    from rest_framework.views import APIView

    from accounts.permissions import CredentialPermission

    views = {route: view for route, view in api_view_classes().items() if issubclass(view, APIView)}
    assert len(views) > 30
    for route, view in views.items():
        if route.startswith(("api/schema", "api/docs")):
            continue  # the OpenAPI schema and its page: public documents
        assert CredentialPermission in view.permission_classes, route


def test_a_session_without_a_second_factor_only_reads_the_resource_api(settings, market):
    from accounts.services.usersettings import set_analyze_mode

    user = UserFactory()
    set_analyze_mode(user, True)
    person = sign_in(Client(), user)
    assert person.get("/api/orders/").status_code == 200
    response = person.post("/api/orders/", {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1"},
                           content_type="application/json")
    assert response.status_code == 403
    assert "second factor" in response.json()["detail"]
    settings.REQUIRE_SECOND_FACTOR = False  # demos
    assert person.post("/api/orders/", {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1"},
                       content_type="application/json").status_code == 201
