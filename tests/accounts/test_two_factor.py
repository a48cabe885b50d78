"""Second factors: enrollment with a real TOTP code, the two-step sign-in, backup codes, the admin gate."""
import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken

from accounts.admin_site import AlgoDeskAdminSite
from accounts.models import Activity, ActivityLog, AuthenticatorDevice
from accounts.services import otp
from tests.accounts.conftest import enroll, sign_in, totp_code
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(databases="__all__")  # the admin index (the dashboard) reads the traffic log


def actions_of(user) -> list[str]:
    return list(ActivityLog.objects.filter(user=user).order_by("id").values_list("action", flat=True))


def test_every_apps_admin_registers_on_the_two_factor_site():
    assert isinstance(admin.site, AlgoDeskAdminSite)
    from accounts.models import ApiKey
    assert admin.site.is_registered(ApiKey)


def test_it_refuses_a_staff_user_without_a_device_and_leads_them_to_enroll(client, operator):
    sign_in(client, operator)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:otp_setup"))
    assert "next=%2Fadmin%2F" in response.redirect_chain[-1][0]
    assert response.status_code == 200
    assert b"<svg" in response.content  # the QR code, inline


def test_it_refuses_a_staff_user_with_an_unverified_session(client, operator):
    enroll(operator)
    sign_in(client, operator)  # password only, no second factor in this session
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:login_verify"))


def test_it_admits_a_verified_staff_user(client, operator):
    sign_in(client, operator, enroll(operator))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert b"AlgoDesk administration" in response.content


def test_the_admin_login_takes_the_password_then_a_real_totp_code(client, operator):
    device = enroll(operator)
    response = client.post(reverse("admin:login"), {"username": operator.username, "password": PASSWORD,
                                                    "next": "/admin/"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login_verify"))
    assert "_auth_user_id" not in client.session  # not logged in on the password alone
    response = client.post(response.url, {"code": totp_code(device)})
    assert response.status_code == 302
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert actions_of(operator)[-2:] == [Activity.OTP_VERIFIED, Activity.LOGIN]


def test_a_staff_user_without_a_device_enrolls_at_the_first_admin_login(client, operator):
    response = client.post(reverse("admin:login"), {"username": operator.username, "password": PASSWORD,
                                                    "next": "/admin/"})
    assert response.url.startswith(reverse("accounts:otp_setup"))
    assert client.get("/admin/").status_code == 302  # still refused: no second factor yet
    client.get(response.url)
    device = AuthenticatorDevice.objects.get(user=operator, confirmed=False)
    response = client.post(response.url, {"code": totp_code(device)})
    # The backup codes the operator is told to keep, shown once, then on to the admin.
    assert response.status_code == 200
    page = response.content.decode()
    codes = re.findall(r"<li>([a-z2-7]{10})</li>", page)
    assert len(codes) == 10
    assert 'href="/admin/"' in page
    assert otp.backup_codes_left(operator) == 10
    assert client.get("/admin/").status_code == 200
    assert codes[0] not in client.get(reverse("accounts:backup_codes")).content.decode()  # shown once


def test_an_operators_backup_code_from_enrollment_signs_them_in(client, operator):
    response = client.post(reverse("admin:login"), {"username": operator.username, "password": PASSWORD,
                                                    "next": "/admin/"})
    client.get(response.url)
    device = AuthenticatorDevice.objects.get(user=operator, confirmed=False)
    codes = re.findall(r"<li>([a-z2-7]{10})</li>",
                       client.post(response.url, {"code": totp_code(device)}).content.decode())
    client.post(reverse("accounts:logout"))
    response = client.post(reverse("admin:login"), {"username": operator.username, "password": PASSWORD,
                                                    "next": "/admin/"})
    assert client.post(response.url, {"code": codes[3]}).url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_enrolling_a_new_phone_keeps_unused_backup_codes(client, trader):
    sign_in(client, trader, enroll(trader))
    otp.generate_backup_codes(trader)
    client.get(reverse("accounts:otp_setup"))
    device = AuthenticatorDevice.objects.get(user=trader, confirmed=False)
    page = client.post(reverse("accounts:otp_setup"), {"code": totp_code(device)}).content.decode()
    assert not re.findall(r"<li>([a-z2-7]{10})</li>", page)
    assert "10</strong> unused backup codes still work" in page
    assert otp.backup_codes_left(trader) == 10


def test_enrollment_shows_the_qr_and_the_secret_and_confirms_with_a_real_code(client, trader):
    sign_in(client, trader)
    page = client.get(reverse("accounts:otp_setup"))
    device = AuthenticatorDevice.objects.get(user=trader)
    assert not device.confirmed
    assert b"<svg" in page.content
    secret = otp.secret_text(device)
    assert secret.replace(" ", "")
    assert secret in page.content.decode()
    wrong = client.post(reverse("accounts:otp_setup"), {"code": "000000" if totp_code(device) != "000000" else "1"})
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # django-otp's own back-off after the wrong code
    response = client.post(reverse("accounts:otp_setup"), {"code": totp_code(device)})
    assert response.status_code == 200
    assert len(re.findall(r"<li>([a-z2-7]{10})</li>", response.content.decode())) == 10  # shown once
    device.refresh_from_db()
    assert device.confirmed
    assert Activity.OTP_ENROLLED in actions_of(trader)
    assert client.get(reverse("accounts:dashboard")).status_code == 200  # verified by the enrollment


def test_the_site_login_asks_for_the_second_factor_of_an_enrolled_user(client, trader):
    device = enroll(trader)
    response = client.post(reverse("accounts:login"), {"username": trader.username, "password": PASSWORD})
    assert response.url.startswith(reverse("accounts:login_verify"))
    assert client.get(reverse("accounts:dashboard")).status_code == 302
    response = client.post(reverse("accounts:login_verify"), {"code": totp_code(device)})
    assert response.status_code == 302
    assert response.url == reverse("accounts:dashboard")
    assert client.get(reverse("accounts:dashboard")).status_code == 200


def test_a_user_without_a_device_logs_in_with_the_password(client, trader):
    response = client.post(reverse("accounts:login"), {"username": trader.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("accounts:dashboard")
    assert actions_of(trader) == [Activity.LOGIN]


def test_a_backup_code_works_once(client, trader):
    enroll(trader)
    sign_in(client, trader, AuthenticatorDevice.objects.get(user=trader))
    page = client.post(reverse("accounts:backup_codes"))
    codes = re.findall(r"<li>([a-z2-7]{10})</li>", page.content.decode())
    assert len(codes) == 10
    assert Activity.BACKUP_CODES in actions_of(trader)
    client.post(reverse("accounts:logout"))

    def sign_in_with(code):
        client.post(reverse("accounts:login"), {"username": trader.username, "password": PASSWORD})
        return client.post(reverse("accounts:login_verify"), {"code": code})

    assert sign_in_with(codes[0]).status_code == 302
    client.post(reverse("accounts:logout"))
    again = sign_in_with(codes[0])
    assert again.status_code == 200
    assert "not right" in again.content.decode()
    assert StaticToken.objects.filter(device__user=trader).count() == 9


def test_the_backup_codes_page_shows_codes_only_when_generated(client, trader):
    device = enroll(trader)
    otp.generate_backup_codes(trader)
    sign_in(client, trader, device)
    page = client.get(reverse("accounts:backup_codes")).content.decode()
    assert "10" in page
    assert not re.findall(r"<li>([a-z2-7]{10})</li>", page)


def test_an_operator_resets_a_users_second_factor(client, operator, trader):
    enroll(trader)
    otp.generate_backup_codes(trader)
    sign_in(client, operator, enroll(operator))
    response = client.post(reverse("admin:accounts_user_changelist"),
                           {"action": "reset_second_factor", "_selected_action": [trader.pk]})
    assert response.status_code == 302
    assert not otp.has_device(trader)
    reset = ActivityLog.objects.get(user=trader, action=Activity.OTP_RESET)
    assert reset.actor == operator
    assert reset.details["devices_removed"] == 2
