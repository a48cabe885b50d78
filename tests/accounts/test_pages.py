"""Self-service pages, with three personas: the owner, another trader, an operator."""
import re

import pytest
from django.urls import reverse

from accounts.models import Activity, ActivityLog, ApiKey, RiskSettings
from accounts.services import apikeys, usersettings
from tests.accounts.conftest import sign_in
from tests.factories import PASSWORD, UserFactory, enrolled

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, trader):
    """The trader's session, signed in with their second factor (keys, risk and mode pages need it)."""
    return sign_in(client, trader, enrolled(trader))


def test_pages_need_a_login(client):
    for name in ("dashboard", "apikeys", "risk", "analyze_mode", "otp_setup", "password_change"):
        response = client.get(reverse(f"accounts:{name}"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))


def test_every_page_renders(owner):
    for name in ("dashboard", "apikeys", "risk", "analyze_mode", "otp_setup", "password_change"):
        assert owner.get(reverse(f"accounts:{name}")).status_code == 200, name


def test_a_new_key_is_shown_once(owner, trader):
    response = owner.post(reverse("accounts:apikeys"), {"name": "tv", "order_mode": "auto"})
    assert response.status_code == 201
    raw = re.search(r'id="new-key">([^<]+)<', response.content.decode()).group(1)
    assert apikeys.verify(raw).user_id == trader.id
    listing = owner.get(reverse("accounts:apikeys")).content.decode()
    assert raw.split(".")[0] in listing
    assert raw not in listing
    assert raw not in str(owner.session.items())


def test_creating_a_key_reports_errors_on_the_field(owner, trader):
    apikeys.create_key(trader, "tv")
    response = owner.post(reverse("accounts:apikeys"), {"name": "tv", "order_mode": "auto"})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    response = owner.post(reverse("accounts:apikeys"), {"name": "x", "order_mode": "auto", "expires_days": "0"})
    assert response.context["form"].errors["expires_days"]


def test_revealing_a_key_needs_the_password(owner, trader):
    key, raw = apikeys.create_key(trader, "tv")
    url = reverse("accounts:apikey_reveal", args=[key.pk])
    assert raw not in owner.get(url).content.decode()
    wrong = owner.post(url, {"password": "not my password"})
    assert wrong.status_code == 400
    assert raw not in wrong.content.decode()
    assert wrong.context["form"].errors["password"]
    right = owner.post(url, {"password": PASSWORD})
    assert raw in right.content.decode()
    assert ActivityLog.objects.filter(user=trader, action=Activity.APIKEY_REVEALED).count() == 1


def test_another_user_cannot_reveal_or_revoke_someone_elses_key(client, trader):
    key, raw = apikeys.create_key(trader, "tv")
    stranger = UserFactory()
    sign_in(client, stranger, enrolled(stranger))
    assert client.post(reverse("accounts:apikey_reveal", args=[key.pk]), {"password": PASSWORD}).status_code == 404
    assert client.get(reverse("accounts:apikey_reveal", args=[key.pk])).status_code == 404
    assert client.post(reverse("accounts:apikey_revoke", args=[key.pk])).status_code == 404
    assert apikeys.verify(raw) is not None
    assert raw.split(".")[0] not in client.get(reverse("accounts:apikeys")).content.decode()


def test_revoking_a_key_stops_it(owner, trader):
    key, raw = apikeys.create_key(trader, "tv")
    assert owner.get(reverse("accounts:apikey_revoke", args=[key.pk])).status_code == 405
    assert owner.post(reverse("accounts:apikey_revoke", args=[key.pk])).status_code == 302
    assert apikeys.verify(raw) is None
    assert not ApiKey.objects.get(pk=key.pk).is_active


def test_risk_settings_are_saved_and_logged_with_old_and_new_values(owner, trader):
    data = {"max_order_value": "25000.00", "max_position_value": "5000000.00", "daily_loss_limit": "100000.00",
            "max_open_orders": "10", "max_orders_per_day": "1000", "trading_enabled": "on"}
    assert owner.post(reverse("accounts:risk"), data).status_code == 302
    risk = RiskSettings.objects.get(user=trader)
    assert str(risk.max_order_value) == "25000.00"
    assert risk.max_open_orders == 10
    entry = ActivityLog.objects.get(user=trader, action=Activity.RISK_CHANGED)
    assert entry.details["changes"]["max_order_value"] == ["1000000.00", "25000.00"]
    assert entry.details["changes"]["max_open_orders"] == [50, 10]
    assert "daily_loss_limit" not in entry.details["changes"]


def test_risk_settings_errors_are_shown_per_field(owner, trader):
    data = {"max_order_value": "-5", "max_position_value": "abc", "daily_loss_limit": "1",
            "max_open_orders": "1", "max_orders_per_day": "1"}
    response = owner.post(reverse("accounts:risk"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"max_order_value", "max_position_value"}
    assert str(RiskSettings.objects.get(user=trader).max_order_value) == "1000000.00"


def test_analyze_mode_switches_and_is_logged(owner, trader):
    assert owner.post(reverse("accounts:analyze_mode"), {"analyze_mode": "on"}).status_code == 302
    assert usersettings.is_analyze_mode(trader.pk) is True
    owner.post(reverse("accounts:analyze_mode"), {})
    assert usersettings.is_analyze_mode(trader.pk) is False
    changes = ActivityLog.objects.filter(user=trader, action=Activity.SETTING_CHANGED).order_by("id")
    assert [(e.details["old"], e.details["new"]) for e in changes] == [(None, True), (True, False)]


def test_changing_the_password_keeps_the_session_and_is_logged(owner, trader):
    new = "an-entirely-new-passphrase-42"
    response = owner.post(reverse("accounts:password_change"),
                          {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    trader.refresh_from_db()
    assert trader.check_password(new)
    assert owner.get(reverse("accounts:dashboard")).status_code == 200
    assert ActivityLog.objects.filter(user=trader, action=Activity.PASSWORD_CHANGED).exists()


def test_logging_out_is_logged(owner, trader):
    owner.post(reverse("accounts:logout"))
    assert ActivityLog.objects.filter(user=trader, action=Activity.LOGOUT).exists()
    assert owner.get(reverse("accounts:dashboard")).status_code == 302


def test_the_dashboard_shows_only_my_activity(owner, trader):
    other = UserFactory()
    apikeys.create_key(other, "theirs-xyz")
    apikeys.create_key(trader, "mine")
    page = owner.get(reverse("accounts:dashboard")).content.decode()
    assert "API key created" in page
    assert page.count("API key created") == 1
