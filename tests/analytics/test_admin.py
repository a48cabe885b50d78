"""The analytics admin: every page renders with its rows, logs are read-only, a lift works at once."""
from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from analytics import bans
from analytics.models import AllowedIp, ApiLog, InvalidKeyTracker, IpBan, NotFoundTracker, SystemLog, TrafficLog
from tests.accounts.conftest import enroll, sign_in
from tests.analytics.conftest import ALL, STRANGER, flush
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db(databases=ALL)

LOGS = (TrafficLog, ApiLog, SystemLog, NotFoundTracker, InvalidKeyTracker)


@pytest.fixture
def staff(client):
    operator = StaffFactory()
    return sign_in(client, operator, enroll(operator))


def url(model, view: str = "changelist", *args) -> str:
    return reverse(f"admin:analytics_{model._meta.model_name}_{view}", args=args)


def test_every_analytics_page_renders_with_its_rows(staff, settings):
    settings.IP_BAN_NOT_FOUND_LIMIT = 1
    staff.get("/no-such-page/", REMOTE_ADDR=STRANGER)
    staff.post("/api/v1/funds", {"apikey": "bad.key"}, content_type="application/json", REMOTE_ADDR="198.51.100.5")
    logging.getLogger("trading.tests").warning("slow broker")
    flush()
    AllowedIp.objects.create(network="192.0.2.0/24", note="office")
    for model in (*LOGS, IpBan, AllowedIp):
        page = staff.get(url(model))
        assert page.status_code == 200, model
        row = model.objects.first()
        assert row is not None, model
        assert staff.get(url(model, "change", row.pk)).status_code == 200, model
    assert STRANGER in staff.get(url(IpBan) + "?state=active").content.decode()
    assert "/no-such-page/" in staff.get(url(TrafficLog) + "?status_class=4").content.decode()
    assert "/no-such-page/" not in staff.get(url(TrafficLog) + "?status_class=2").content.decode()
    assert "slow broker" in staff.get(url(SystemLog)).content.decode()


def test_logs_cannot_be_added_changed_or_deleted(staff):
    logging.getLogger("trading.tests").warning("evidence")
    flush()
    row = SystemLog.objects.get()
    for model in LOGS:
        assert staff.get(url(model, "add")).status_code == 403
    assert staff.post(url(SystemLog, "change", row.pk), {"message": "changed"}).status_code == 403
    assert staff.post(url(SystemLog, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert SystemLog.objects.get().message == "evidence"


def test_an_operator_lifts_a_ban_and_the_address_gets_in_at_once(staff, client):
    bans.ban(STRANGER, "test")
    assert client.get("/accounts/login/", REMOTE_ADDR=STRANGER).status_code == 403
    ban = IpBan.objects.get()
    response = staff.post(url(IpBan), {"action": "lift_bans", "_selected_action": [ban.pk]})
    assert response.status_code == 302
    assert client.get("/accounts/login/", REMOTE_ADDR=STRANGER).status_code == 200
    ban.refresh_from_db()
    assert not ban.is_active
    assert ban.lifted_by


def test_an_operator_bans_from_the_admin(staff, client):
    response = staff.post(url(IpBan, "add"), {"ip": "198.51.100.20", "reason": "scraping"})
    assert response.status_code == 302, response.content
    ban = IpBan.objects.get(ip="198.51.100.20")
    assert ban.created_by == "operator"
    assert ban.is_active
    assert client.get("/accounts/login/", REMOTE_ADDR="198.51.100.20").status_code == 403
    # and the never-ban list, edited in the admin, wins at once
    assert staff.post(url(AllowedIp, "add"), {"network": "198.51.100.20", "note": "partner"}).status_code == 302
    assert client.get("/accounts/login/", REMOTE_ADDR="198.51.100.20").status_code == 200


def test_the_never_ban_list_refuses_what_is_not_an_address(staff):
    page = staff.post(url(AllowedIp, "add"), {"network": "proxy.example.com"})
    assert page.status_code == 200
    assert "Enter an IP address" in page.content.decode()
    assert not AllowedIp.objects.exists()
