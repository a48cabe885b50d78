"""The sandbox admin: every page renders for a verified operator; the reset action resets and audits."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.urls import reverse

from accounts.models import ActivityLog
from sandbox.models import (
    DailyPnL,
    FundsLedger,
    LastPrice,
    SandboxConfig,
    SandboxFunds,
    SandboxHolding,
    SandboxOrder,
    SandboxPosition,
    SandboxTrade,
)
from sandbox.services.snapshots import daily_snapshot
from tests.accounts.conftest import enroll, sign_in
from tests.factories import StaffFactory
from tests.sandbox.factories import price

pytestmark = pytest.mark.django_db
MODELS = [SandboxConfig, SandboxFunds, FundsLedger, SandboxOrder, SandboxTrade, SandboxPosition, SandboxHolding,
          DailyPnL, LastPrice]


@pytest.fixture
def staff_client(client):
    operator = StaffFactory()
    return sign_in(client, operator, enroll(operator))


def _url(model, view: str = "changelist", *args) -> str:
    return reverse(f"admin:sandbox_{model._meta.model_name}_{view}", args=args)


def test_every_sandbox_page_renders(staff_client, sandbox):
    price("SBIN", "800")
    sandbox.place("SBIN", "BUY", 10)
    sandbox.place("SBIN", "BUY", 1, price_type="LIMIT", price="700")
    daily_snapshot()
    for model in MODELS:
        response = staff_client.get(_url(model), follow=True)  # the one-row configuration opens its row
        assert response.status_code == 200, model
        row = model.objects.first()
        if row is not None:
            assert staff_client.get(_url(model, "change", row.pk)).status_code == 200, model


def test_the_reset_action_resets_the_sandbox_and_audits_it(staff_client, sandbox):
    price("SBIN", "800")
    sandbox.place("SBIN", "BUY", 10)
    funds = sandbox.funds()
    response = staff_client.post(_url(SandboxFunds), {"action": "reset_sandboxes", "_selected_action": [funds.pk]},
                                 follow=True)
    assert response.status_code == 200
    funds = sandbox.funds()
    assert (funds.available, funds.used_margin) == (D("10000000.00"), 0)
    assert not SandboxOrder.objects.filter(user=sandbox.user).exists()
    assert ActivityLog.objects.filter(user=sandbox.user, details__change="sandbox reset").exists()


def test_balances_and_books_cannot_be_edited_by_hand(staff_client, sandbox):
    price("SBIN", "800")
    sandbox.place("SBIN", "BUY", 10)
    funds = sandbox.funds()
    staff_client.post(_url(SandboxFunds, "change", funds.pk), {"available": "99999999"})
    assert sandbox.funds().available == funds.available
    assert staff_client.get(_url(SandboxOrder, "add")).status_code == 403
