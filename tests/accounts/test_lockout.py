"""Lock-out after repeated failures: passwords (django-axes) on the site and the admin, and second factors."""
import pytest
from django.urls import reverse

from accounts.models import Activity, ActivityLog
from accounts.services import otp
from tests.accounts.conftest import enroll, totp_code
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def count(action, user=None) -> int:
    rows = ActivityLog.objects.filter(action=action)
    return rows.filter(user=user).count() if user is not None else rows.count()


@pytest.mark.parametrize("login_url", ["accounts:login", "admin:login"])
def test_it_locks_out_after_repeated_wrong_passwords(client, operator, login_url):
    url = reverse(login_url)
    for _ in range(2):
        response = client.post(url, {"username": operator.username, "password": "wrong password"})
        assert response.status_code == 200  # the form again, with its error
    response = client.post(url, {"username": operator.username, "password": "wrong password"})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    # Even the right password is refused during the cool-off.
    response = client.post(url, {"username": operator.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert count(Activity.LOGIN_FAILED, operator) == 4
    assert count(Activity.LOCKED_OUT, operator) >= 1
    assert ActivityLog.objects.filter(action=Activity.LOCKED_OUT, details__factor="password").exists()


def test_a_failed_login_of_an_unknown_user_is_logged_without_a_user(client):
    client.post(reverse("accounts:login"), {"username": "nobody", "password": "whatever it is"})
    entry = ActivityLog.objects.get(action=Activity.LOGIN_FAILED)
    assert entry.user is None
    assert entry.details["username"] == "nobody"
    assert entry.ip_address == "127.0.0.1"
    assert "whatever" not in str(entry.details)


def test_it_locks_out_after_repeated_wrong_second_factors(client, trader):
    device = enroll(trader)
    client.post(reverse("accounts:login"), {"username": trader.username, "password": PASSWORD})
    verify = reverse("accounts:login_verify")
    right = totp_code(device)
    wrong = "123456" if right != "123456" else "654321"
    for _ in range(2):
        assert client.post(verify, {"code": wrong}).status_code == 200
    assert client.post(verify, {"code": wrong}).status_code == 429
    assert otp.is_locked(trader)
    device.refresh_from_db()
    device.throttle_reset()  # only our lock-out may refuse the right code below
    response = client.post(verify, {"code": right})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert count(Activity.OTP_FAILED, trader) == 3
    assert ActivityLog.objects.filter(user=trader, action=Activity.LOCKED_OUT,
                                      details__factor="second factor").count() == 1


def test_backup_codes_are_refused_during_a_second_factor_lock_out(trader):
    enroll(trader)
    codes = otp.generate_backup_codes(trader)
    for _ in range(3):
        assert otp.verify(trader, "wrongcode") is None
    with pytest.raises(otp.SecondFactorLocked):
        otp.verify(trader, codes[0])


def test_a_right_code_clears_the_failure_count(settings, trader):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0  # django-otp's own back-off is not what this test is about
    enroll(trader)
    codes = otp.generate_backup_codes(trader)
    for _ in range(2):
        otp.verify(trader, "wrongcode")
    assert otp.verify(trader, codes[0]) is not None
    for _ in range(2):
        otp.verify(trader, "wrongcode")
    assert not otp.is_locked(trader)
