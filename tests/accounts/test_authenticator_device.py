"""AuthenticatorDevice: RFC 6238 codes, the otpauth:// URL, tolerance and drift, replay and back-off."""
from base64 import b32decode
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django_otp import devices_for_user
from django_otp.oath import TOTP

from accounts import otp_devices
from accounts.models import AuthenticatorDevice
from tests.accounts.conftest import enroll

pytestmark = pytest.mark.django_db

NOW = 1_900_000_015.0  # 15 s into a 30 s step, far from either edge


@pytest.fixture
def frozen(monkeypatch):
    """The device's clock, fixed at NOW."""
    monkeypatch.setattr(otp_devices, "time", SimpleNamespace(time=lambda: NOW))
    return NOW


def code_at(device: AuthenticatorDevice, steps_ahead: int = 0) -> int:
    clock = TOTP(device.bin_key, device.step, device.t0, device.digits, steps_ahead)
    clock.time = NOW
    return clock.token()


def test_a_new_device_has_a_random_20_byte_seed_and_the_rfc_defaults(trader):
    first, second = enroll(trader), enroll(trader)
    assert len(first.bin_key) == 20
    assert first.key != second.key
    device = AuthenticatorDevice.objects.get(pk=first.pk)
    assert device.key == first.key  # decrypted on the way back
    defaults = (device.step, device.t0, device.digits, device.tolerance, device.drift, device.last_t)
    assert defaults == (30, 0, 6, 1, 0, -1)


def test_it_accepts_the_rfc_6238_test_vector_at_its_time_only(monkeypatch, trader):
    # RFC 6238 appendix B, SHA-1 seed "12345678901234567890": 94287082 (8 digits) at T = 59 s.
    device = AuthenticatorDevice.objects.create(user=trader, name="rfc", key=b"12345678901234567890".hex(),
                                                digits=8, tolerance=0)
    monkeypatch.setattr(otp_devices, "time", SimpleNamespace(time=lambda: 89.0))  # the next step
    assert device.verify_token("94287082") is False
    device.throttle_reset()
    monkeypatch.setattr(otp_devices, "time", SimpleNamespace(time=lambda: 59.0))
    assert device.verify_token("94287082")


def test_the_config_url_carries_issuer_user_secret_digits_and_period(settings, trader):
    settings.OTP_TOTP_ISSUER = "Algo:Desk Co"
    device = enroll(trader)
    url = urlsplit(device.config_url)
    assert (url.scheme, url.netloc) == ("otpauth", "totp")
    assert unquote(url.path) == f"/AlgoDesk Co:{trader.username}"
    params = parse_qs(url.query)
    assert params["secret"] == [device.base32_key]
    assert b32decode(device.base32_key + "=" * (-len(device.base32_key) % 8)) == device.bin_key
    assert params["issuer"] == ["AlgoDesk Co"]
    assert params["digits"] == ["6"]
    assert params["period"] == ["30"]
    assert params["algorithm"] == ["SHA1"]
    assert "issuer=AlgoDesk%20Co" in url.query  # RFC 3986 quoting, not '+'


def test_a_code_is_accepted_once_and_never_again(frozen, trader):
    device = enroll(trader)
    code = code_at(device)
    assert device.verify_token(f"{code:06d}")
    stored = AuthenticatorDevice.objects.get(pk=device.pk)
    assert stored.last_t == int(NOW) // 30
    assert stored.last_used_at is not None
    assert stored.verify_token(f"{code:06d}") is False  # replay
    assert stored.verify_token(f"{code_at(device, -1):06d}") is False  # an older step too


def test_tolerance_accepts_the_next_step_and_records_the_drift(settings, frozen, trader):
    device = enroll(trader)
    assert device.verify_token(str(code_at(device, 1)))
    assert AuthenticatorDevice.objects.get(pk=device.pk).drift == 1
    assert not device.verify_token(str(code_at(device, 3)))  # outside drift ± tolerance

    settings.OTP_TOTP_SYNC = False
    other = enroll(trader)
    assert other.verify_token(str(code_at(other, -1)))
    assert AuthenticatorDevice.objects.get(pk=other.pk).drift == 0


def test_garbage_is_refused_and_counted(frozen, trader):
    device = enroll(trader)
    for token in ("", "abcdef", None):
        device.throttle_reset()
        assert device.verify_token(token) is False
        assert AuthenticatorDevice.objects.get(pk=device.pk).throttling_failure_count == 1


def test_a_failure_backs_off_by_the_throttle_factor(settings, frozen, trader):
    settings.OTP_TOTP_THROTTLE_FACTOR = 600
    device = enroll(trader)
    right = code_at(device)
    wrong = (right + 1) % 1_000_000
    assert device.get_throttle_factor() == 600
    assert device.verify_token(f"{wrong:06d}") is False
    stored = AuthenticatorDevice.objects.get(pk=device.pk)
    assert stored.throttling_failure_count == 1
    assert stored.verify_token(f"{right:06d}") is False  # backing off: even the right code is refused
    allowed, data = stored.verify_is_allowed()
    assert not allowed
    assert data["failure_count"] == 1

    stored.throttle_reset()
    assert stored.verify_token(f"{right:06d}")
    assert AuthenticatorDevice.objects.get(pk=device.pk).throttling_failure_count == 0


def test_a_throttle_factor_of_zero_turns_the_back_off_off(settings, frozen, trader):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = enroll(trader)
    right = code_at(device)
    assert device.verify_token(f"{(right + 1) % 1_000_000:06d}") is False
    assert AuthenticatorDevice.objects.get(pk=device.pk).verify_token(f"{right:06d}")


def test_the_default_throttle_factor_is_one(settings, trader):
    del settings.OTP_TOTP_THROTTLE_FACTOR
    assert enroll(trader).get_throttle_factor() == 1


def test_django_otp_finds_the_device_by_user_and_persistent_id(trader):
    device = enroll(trader)
    assert list(devices_for_user(trader, confirmed=True)) == [device]
    assert device.persistent_id == f"accounts.authenticatordevice/{device.pk}"
    assert AuthenticatorDevice.from_persistent_id(device.persistent_id) == device
