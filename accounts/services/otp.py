"""Second factors: TOTP enrollment, backup codes, verification with a per-user lock-out, and reset.

Failed second factors are counted per user in the shared cache with the same limit and cool-off as
the password lock-out (AXES_FAILURE_LIMIT, AXES_COOLOFF_TIME): a stolen password alone cannot be
followed by an unbounded guessing of six-digit codes. Backup codes are kept as peppered HMACs, never
in plain text. The TOTP seed is kept Fernet-encrypted (accounts.otp_devices.AuthenticatorDevice).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from base64 import b32encode
from datetime import timedelta

import qrcode
import qrcode.image.svg
from axes.helpers import get_cool_off
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.models import Activity, AuthenticatorDevice, User
from accounts.services.activity import log_activity

BACKUP_CODE_COUNT = 10
BACKUP_CODE_BYTES = 6  # 48 random bits, shown as 10 base32 characters
TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


class SecondFactorLocked(Exception):
    """Too many failed second factors: every code is refused until the cool-off ends."""


def has_device(user: User) -> bool:
    """True when the user has any confirmed second factor (so a password alone is not enough)."""
    return user_has_device(user, confirmed=True)


def is_enrolled(user: User) -> bool:
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()


# --- Enrollment -----------------------------------------------------------------------------------

def pending_totp_device(user: User) -> AuthenticatorDevice:
    """The unconfirmed device being enrolled: one at a time, reused until confirmed."""
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = AuthenticatorDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def secret_text(device: AuthenticatorDevice) -> str:
    """The base32 secret as an authenticator app expects it when typed in, in groups of four."""
    raw = device.base32_key
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def qr_svg(device: AuthenticatorDevice) -> str:
    """The otpauth:// URL of the device as an inline SVG QR code."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def confirm_totp(user: User, device: AuthenticatorDevice, code: str, request: HttpRequest | None = None) -> bool:
    """Confirm an enrollment with a code from the app; replaces any earlier TOTP device of the user."""
    ensure_not_locked(user)
    code = normalise(code)
    with transaction.atomic():
        device = AuthenticatorDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
        if not code.isdigit() or not device.verify_token(code):
            ok = False
        else:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            AuthenticatorDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            ok = True
    if not ok:
        _register_failure(user, request, stage="enrollment")
        return False
    _clear_failures(user)
    log_activity(Activity.OTP_ENROLLED, user=user, request=request, device=device.name)
    return True


def generate_backup_codes(user: User, request: HttpRequest | None = None) -> list[str]:
    """Replace the user's backup codes with BACKUP_CODE_COUNT new ones; returned once, for display."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME,
                                                       defaults={"confirmed": True})
        device.token_set.all().delete()
        codes = [b32encode(secrets.token_bytes(BACKUP_CODE_BYTES)).decode().rstrip("=").lower()
                 for _ in range(BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=stored_form(c)) for c in codes)
    log_activity(Activity.BACKUP_CODES, user=user, request=request, count=len(codes))
    return codes


def stored_form(code: str) -> str:
    """A backup code as kept in StaticToken.token: a peppered HMAC (16 hex characters fit the column),
    so the database never holds a usable code; django-otp compares stored forms."""
    digest = hmac.new(settings.API_KEY_PEPPER.encode(), normalise(code).encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- Verification and lock-out --------------------------------------------------------------------

def normalise(code: str) -> str:
    return "".join((code or "").replace("-", " ").split()).lower()


def verify(user: User, code: str, request: HttpRequest | None = None) -> Device | None:
    """Check a TOTP code or a backup code. Returns the device that accepted it, or None.

    Raises SecondFactorLocked while the user is locked out (even a right code is refused then).
    A six-digit code is tried on TOTP devices only and anything else on backup codes only, so a
    backup code does not count as a failed TOTP attempt in django-otp's own throttling.
    """
    ensure_not_locked(user)
    code = normalise(code)
    device = None
    if code:
        wants_totp = code.isdigit() and len(code) in (6, 8)
        with transaction.atomic():
            for candidate in devices_for_user(user, confirmed=True, for_verify=True):
                if isinstance(candidate, AuthenticatorDevice) != wants_totp:
                    continue
                if candidate.verify_token(code if wants_totp else stored_form(code)):
                    device = candidate
                    break
    if device is None:
        _register_failure(user, request, stage="login")
        return None
    _clear_failures(user)
    details = {"device": device.name}
    if isinstance(device, StaticDevice):
        details["backup_codes_left"] = device.token_set.count()
    log_activity(Activity.OTP_VERIFIED, user=user, request=request, **details)
    return device


def _failures_key(user: User) -> str:
    return f"otp-failures:{user.pk}"


def _lock_key(user: User) -> str:
    return f"otp-locked:{user.pk}"


def _cool_off_seconds() -> int:
    cool_off = get_cool_off() or timedelta(hours=1)
    return max(1, int(cool_off.total_seconds()))


def is_locked(user: User) -> bool:
    return bool(cache.get(_lock_key(user)))


def ensure_not_locked(user: User) -> None:
    if is_locked(user):
        raise SecondFactorLocked("Too many failed codes: try again later.")


def _register_failure(user: User, request: HttpRequest | None, stage: str) -> None:
    ttl = _cool_off_seconds()
    key = _failures_key(user)
    cache.add(key, 0, ttl)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, ttl)
        failures = 1
    log_activity(Activity.OTP_FAILED, user=user, request=request, stage=stage, failures=failures)
    if failures >= settings.AXES_FAILURE_LIMIT:
        cache.set(_lock_key(user), 1, ttl)
        cache.delete(key)
        log_activity(Activity.LOCKED_OUT, user=user, request=request, factor="second factor",
                     failures=failures, cool_off_seconds=ttl)


def _clear_failures(user: User) -> None:
    cache.delete(_failures_key(user))


# --- Reset by an operator -------------------------------------------------------------------------

def reset(user: User, request: HttpRequest | None = None, actor: User | None = None) -> int:
    """Remove every second factor of the user (lost phone); they enroll again at their next login."""
    with transaction.atomic():
        removed = sum(model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
                      for model in (AuthenticatorDevice, StaticDevice))
    cache.delete_many([_failures_key(user), _lock_key(user)])
    log_activity(Activity.OTP_RESET, user=user, request=request, actor=actor, devices_removed=removed)
    return removed
