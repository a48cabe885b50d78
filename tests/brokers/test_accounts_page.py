"""The trader's broker-accounts page: their own accounts only, health and failover history, the pin."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Activity, ActivityLog
from brokers.models import ConnectionStatus, FailoverEvent, FailoverKind, TradingAccount
from tests.accounts.conftest import enroll, sign_in
from tests.brokers.factories import TradingAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(trader):
    return sign_in(Client(), trader, enroll(trader))


def test_it_lists_only_the_users_accounts_with_health_and_failovers(owner_client, trader, other_trader):
    main = TradingAccountFactory(user=trader, name="zerodha-main", is_primary=True,
                                 connection_status=ConnectionStatus.NEEDS_LOGIN, last_error="Invalid openalgo apikey",
                                 egress_source_address="127.0.0.2")
    backup = TradingAccountFactory(user=trader, name="dhan-backup", connection_status=ConnectionStatus.CONNECTED)
    TradingAccountFactory(user=other_trader, name="someone-elses")
    FailoverEvent.objects.create(user=trader, kind=FailoverKind.FAILOVER, from_account=main, to_account=backup,
                                 reason="zerodha-main failed 3 health checks in a row", success=True)
    FailoverEvent.objects.create(user=other_trader, reason="not yours at all", success=True)
    page = owner_client.get(reverse("brokers:accounts")).content.decode()
    for shown in ("zerodha-main", "dhan-backup", "Needs a new login", "Log in to your broker again"):
        assert shown in page
    for hidden in ("someone-elses", "not yours at all"):
        assert hidden not in page
    assert "from 127.0.0.2" in page
    assert "failed 3 health checks in a row" in page


def test_the_owner_pins_and_unpins_an_account_and_it_is_logged(owner_client, trader):
    account = TradingAccountFactory(user=trader)
    response = owner_client.post(reverse("brokers:pin", args=[account.pk]), {"pinned": "1"})
    assert response.status_code == 302
    assert TradingAccount.objects.get(pk=account.pk).pinned
    owner_client.post(reverse("brokers:pin", args=[account.pk]), {"pinned": "0"})
    assert not TradingAccount.objects.get(pk=account.pk).pinned
    assert list(ActivityLog.objects.filter(user=trader, action=Activity.BROKER_PINNED)
                .order_by("created_at").values_list("details__pinned", flat=True)) == [True, False]


def test_another_users_account_cannot_be_pinned(owner_client, other_trader):
    theirs = TradingAccountFactory(user=other_trader)
    assert owner_client.post(reverse("brokers:pin", args=[theirs.pk]), {"pinned": "1"}).status_code == 404
    assert not TradingAccount.objects.get(pk=theirs.pk).pinned


def test_the_dashboard_shows_the_failover_summary(owner_client, trader):
    from accounts.services.activity import log_activity

    log_activity(Activity.BROKER_FAILOVER, user=trader, summary="Primary account failed over to dhan (was zerodha).")
    page = owner_client.get(reverse("accounts:dashboard")).content.decode()
    assert "Primary broker account failed over" in page
    assert "failed over to dhan (was zerodha)" in page


def test_the_api_pins_an_account_and_shows_its_failover_fields(trader):
    from tests.api.conftest import persona

    owner = persona(trader, analyze=False)
    account = TradingAccountFactory(user=trader)
    response = owner.patch(f"accounts/{account.pk}/", {"pinned": True})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["pinned"] is True
    assert (body["consecutive_failures"], body["standing_in_for"]) == (0, None)
    assert ActivityLog.objects.filter(user=trader, action=Activity.BROKER_PINNED).count() == 1
