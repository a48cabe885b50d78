"""A trader enrolls a second factor before API keys, risk limits or analyze mode can be changed: a
password alone never makes a working API key (REQUIRE_SECOND_FACTOR=False relaxes it for demos)."""
import re
from urllib.parse import quote

import pytest
from django.urls import reverse

from accounts.models import ApiKey, AuthenticatorDevice, RiskSettings
from accounts.services import apikeys, usersettings
from tests.accounts.conftest import sign_in, totp_code
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

GUARDED = ["apikeys", "risk", "analyze_mode"]


@pytest.fixture
def password_only(client, trader):
    """Signed in with the password; no second factor enrolled."""
    client.post(reverse("accounts:login"), {"username": trader.username, "password": PASSWORD})
    return client


def leads_to_enrollment(response, back_to: str) -> bool:
    expected = f"{reverse('accounts:otp_setup')}?next={quote(back_to, safe='')}"
    return response.status_code == 302 and response.url == expected


@pytest.mark.parametrize("page", GUARDED)
def test_each_page_leads_a_trader_without_a_second_factor_to_enroll(password_only, page):
    url = reverse(f"accounts:{page}")
    assert leads_to_enrollment(password_only.get(url), url)
    assert leads_to_enrollment(password_only.post(url, {}), url)


def test_a_password_alone_cannot_create_reveal_or_revoke_a_key(password_only, trader):
    response = password_only.post(reverse("accounts:apikeys"), {"name": "bot", "order_mode": "auto"})
    assert leads_to_enrollment(response, reverse("accounts:apikeys"))
    assert not ApiKey.objects.filter(user=trader).exists()
    key, raw = apikeys.create_key(trader, "made-by-an-operator")
    assert password_only.post(reverse("accounts:apikey_reveal", args=[key.pk]),
                              {"password": PASSWORD}).status_code == 302
    assert password_only.post(reverse("accounts:apikey_revoke", args=[key.pk])).status_code == 302
    assert apikeys.verify(raw) is not None


def test_a_password_alone_cannot_change_risk_or_mode(password_only, trader):
    password_only.post(reverse("accounts:risk"), {"max_order_value": "10"})
    password_only.post(reverse("accounts:analyze_mode"), {"analyze_mode": "on"})
    assert RiskSettings.objects.get(user=trader).max_order_value != 10
    assert usersettings.is_analyze_mode(trader.pk) is False


def test_after_enrolling_the_trader_is_brought_back_and_can_create_a_key(password_only, trader):
    setup = password_only.get(reverse("accounts:apikeys"), follow=True)
    assert "Set up two-factor authentication first" in setup.content.decode()
    device = AuthenticatorDevice.objects.get(user=trader, confirmed=False)
    done = password_only.post(setup.redirect_chain[-1][0], {"code": totp_code(device)})
    page = done.content.decode()
    assert len(re.findall(r"<li>([a-z2-7]{10})</li>", page)) == 10  # backup codes, once
    assert f'href="{reverse("accounts:apikeys")}"' in page  # then back to the keys
    created = password_only.post(reverse("accounts:apikeys"), {"name": "bot", "order_mode": "auto"})
    assert created.status_code == 201
    raw = re.search(r'id="new-key">([^<]+)<', created.content.decode()).group(1)
    assert apikeys.verify(raw).user_id == trader.pk


def test_an_enrolled_trader_verifies_before_the_pages(client, trader):
    from tests.factories import enrolled

    enrolled(trader)
    sign_in(client, trader)  # a session not verified by the device
    response = client.get(reverse("accounts:apikeys"))
    assert response.url.startswith(reverse("accounts:login_verify"))


def test_demos_may_relax_the_rule(settings, password_only, trader):
    settings.REQUIRE_SECOND_FACTOR = False
    assert password_only.post(reverse("accounts:apikeys"), {"name": "demo", "order_mode": "auto"}).status_code == 201
    assert password_only.post(reverse("accounts:analyze_mode"), {"analyze_mode": "on"}).status_code == 302
    assert usersettings.is_analyze_mode(trader.pk) is True


def test_the_dashboard_says_what_enrolling_unlocks(password_only):
    page = password_only.get(reverse("accounts:dashboard")).content.decode()
    assert "Set it up" in page
