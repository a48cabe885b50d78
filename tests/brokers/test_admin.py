"""The brokers admin: pages render, credentials are write-only, actions call the services."""
from __future__ import annotations

import httpx
import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from brokers.adapters import openalgo
from brokers.models import (
    BrokerToken,
    ConnectionStatus,
    FailoverEvent,
    Instrument,
    TradingAccount,
    WebSocketConnection,
)
from tests.brokers.factories import InstrumentFactory, TradingAccountFactory

pytestmark = pytest.mark.django_db

SECRET = "oa-super-secret-api-key-987"


def changelist(model) -> str:
    return reverse(f"admin:brokers_{model._meta.model_name}_changelist")


@pytest.fixture
def account(trader):
    return TradingAccountFactory(user=trader, name="main", credentials={
        "host_url": "http://openalgo-host.test:5000", "websocket_url": "ws://openalgo-host.test:8765",
        "api_key": SECRET})


def test_every_brokers_page_renders_without_credentials(staff_client, account, other_trader):
    instrument = InstrumentFactory(symbol="SBIN")
    token = BrokerToken.objects.create(instrument=instrument, broker="openalgo", token="3045")
    socket = WebSocketConnection.objects.create(account=account, connection_id="c-1")
    event = FailoverEvent.objects.create(user=account.user, from_account=account, reason="3 failed checks")
    pages = [changelist(m) for m in (TradingAccount, Instrument, BrokerToken, WebSocketConnection, FailoverEvent)]
    pages += [reverse("admin:brokers_tradingaccount_change", args=[account.pk]),
              reverse("admin:brokers_tradingaccount_add"),
              reverse("admin:brokers_instrument_change", args=[instrument.pk]),
              reverse("admin:brokers_brokertoken_change", args=[token.pk]),
              reverse("admin:brokers_websocketconnection_change", args=[socket.pk]),
              reverse("admin:brokers_failoverevent_change", args=[event.pk])]
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert SECRET not in html, url
        assert "openalgo-host.test" not in html, url
    listing = staff_client.get(changelist(TradingAccount)).content.decode()
    assert "api_key, host_url, websocket_url" in listing


def change(staff_client, account, **fields):
    data = {"user": account.user_id, "name": account.name, "broker": account.broker, "is_active": "on",
            "priority": account.priority, "credential_host_url": "", "credential_websocket_url": "",
            "credential_api_key": ""}
    data.update(fields)
    return staff_client.post(reverse("admin:brokers_tradingaccount_change", args=[account.pk]), data)


def test_blank_credential_inputs_keep_the_stored_values(staff_client, account):
    response = change(staff_client, account, name="renamed")
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "renamed"
    assert account.credentials["api_key"] == SECRET
    assert account.credentials["host_url"] == "http://openalgo-host.test:5000"


def test_a_new_credential_value_replaces_only_that_key(staff_client, account):
    assert change(staff_client, account, credential_api_key="rotated-key").status_code == 302
    account.refresh_from_db()
    assert account.credentials["api_key"] == "rotated-key"
    assert account.credentials["websocket_url"] == "ws://openalgo-host.test:8765"


def test_bad_credentials_are_refused_naming_the_field(staff_client, account):
    response = change(staff_client, account, credential_host_url="openalgo-host.test")
    assert response.status_code == 200
    assert "host_url must start with http" in response.content.decode()
    account.refresh_from_db()
    assert account.credentials["host_url"] == "http://openalgo-host.test:5000"


def test_an_account_added_in_the_admin_stores_its_credentials_encrypted(staff_client, trader):
    response = staff_client.post(reverse("admin:brokers_tradingaccount_add"), {
        "user": trader.pk, "name": "backup", "broker": "openalgo", "is_active": "on", "priority": 2,
        "credential_host_url": "http://127.0.0.1:5000", "credential_api_key": "k-123",
        "credential_websocket_url": ""})
    assert response.status_code == 302
    account = TradingAccount.objects.get(user=trader, name="backup")
    assert account.credentials == {"host_url": "http://127.0.0.1:5000", "api_key": "k-123"}


def test_the_make_primary_action_switches_the_primary(staff_client, account):
    other = TradingAccountFactory(user=account.user, is_primary=True)
    response = staff_client.post(changelist(TradingAccount), {"action": "make_primary",
                                                              "_selected_action": [account.pk]})
    assert response.status_code == 302
    account.refresh_from_db()
    other.refresh_from_db()
    assert (account.is_primary, other.is_primary) == (True, False)


def test_the_make_primary_action_refuses_two_accounts_of_one_user(staff_client, account):
    other = TradingAccountFactory(user=account.user)
    response = staff_client.post(changelist(TradingAccount), {"action": "make_primary",
                                                              "_selected_action": [account.pk, other.pk]},
                                 follow=True)
    assert "at most one account per user" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert not TradingAccount.objects.filter(is_primary=True).exists()


def test_the_test_connection_action_pings_and_records_health(staff_client, account, monkeypatch):
    seen = []

    def handler(request):
        seen.append(request.url.path)
        return httpx.Response(200, json={"status": "success", "data": {"message": "pong", "broker": "fyers"}})

    monkeypatch.setattr(openalgo, "client_for", lambda host, egress=None: httpx.Client(
        base_url=host, transport=httpx.MockTransport(handler)))
    response = staff_client.post(changelist(TradingAccount), {"action": "test_connection",
                                                              "_selected_action": [account.pk]}, follow=True)
    assert seen == ["/api/v1/ping"]
    assert "main: openalgo:fyers answered" in [str(m) for m in get_messages(response.wsgi_request)]
    account.refresh_from_db()
    assert account.connection_status == ConnectionStatus.CONNECTED


def test_failover_events_are_read_only(staff_client, account):
    event = FailoverEvent.objects.create(user=account.user, from_account=account, reason="timeouts")
    assert staff_client.get(reverse("admin:brokers_failoverevent_add")).status_code == 403
    response = staff_client.post(reverse("admin:brokers_failoverevent_change", args=[event.pk]), {"reason": "x"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.reason == "timeouts"


def test_other_admins_can_autocomplete_instruments_and_accounts(staff_client, account):
    InstrumentFactory(symbol="RELIANCE")
    url = reverse("admin:autocomplete")
    found = staff_client.get(url, {"term": "RELI", "app_label": "brokers", "model_name": "brokertoken",
                                   "field_name": "instrument"}).json()
    assert [r["text"] for r in found["results"]] == ["NSE:RELIANCE"]
    found = staff_client.get(url, {"term": "mai", "app_label": "brokers", "model_name": "websocketconnection",
                                   "field_name": "account"}).json()
    assert [r["text"] for r in found["results"]] == ["main (openalgo)"]


# --- Egress and failover fields -------------------------------------------------------------------
PROXY = "socks5://desk:proxy-pass-42@127.0.0.1:1080"


def test_the_egress_proxy_is_write_only_and_kept_when_left_blank(staff_client, account):
    assert change(staff_client, account, egress_proxy_url=PROXY).status_code == 302
    account.refresh_from_db()
    assert account.egress_proxy_url == PROXY
    page = staff_client.get(reverse("admin:brokers_tradingaccount_change", args=[account.pk])).content.decode()
    assert "proxy-pass-42" not in page
    assert "Currently set; leave blank to keep it." in page
    assert "proxy-pass-42" not in staff_client.get(changelist(TradingAccount)).content.decode()
    assert change(staff_client, account, name="renamed").status_code == 302
    account.refresh_from_db()
    assert account.egress_proxy_url == PROXY
    assert change(staff_client, account, clear_egress_proxy="on").status_code == 302
    account.refresh_from_db()
    assert account.egress_proxy_url is None


@pytest.mark.parametrize(("fields", "message"), [
    ({"egress_source_address": "203.0.113.7"}, "is not an address of this server"),
    ({"egress_proxy_url": "ftp://127.0.0.1:21"}, "the scheme must be one of"),
    ({"egress_source_address": "127.0.0.2", "egress_proxy_url": PROXY}, "not both"),
])
def test_a_bad_egress_is_a_form_error_naming_the_field(staff_client, account, fields, message):
    response = change(staff_client, account, **fields)
    assert response.status_code == 200
    form = response.context["adminform"].form
    field = "egress_proxy_url" if "egress_proxy_url" in fields else "egress_source_address"
    assert message in " ".join(form.errors[field])
    account.refresh_from_db()
    assert (account.egress_source_address, account.egress_proxy_url) == (None, None)


def test_pinning_in_the_admin_is_logged_for_the_user(staff_client, account, operator):
    from accounts.models import Activity, ActivityLog

    assert change(staff_client, account, pinned="on").status_code == 302
    assert TradingAccount.objects.get(pk=account.pk).pinned
    entry = ActivityLog.objects.get(user=account.user, action=Activity.BROKER_PINNED)
    assert (entry.actor, entry.details["pinned"]) == (operator, True)
    staff_client.post(changelist(TradingAccount), {"action": "unpin", "_selected_action": [account.pk]})
    assert not TradingAccount.objects.get(pk=account.pk).pinned
    assert ActivityLog.objects.filter(user=account.user, action=Activity.BROKER_PINNED).count() == 2
