"""The authenticator-app (TOTP) second factor, with its seed Fernet-encrypted at rest.

django-otp's own TOTPDevice keeps the seed as plain hex. AuthenticatorDevice behaves the same way
(RFC 6238 codes through django_otp.oath.TOTP, a tolerance window, drift tracking, replay protection
through last_t, django-otp's exponential back-off) but stores the seed in an EncryptedTextField, so it
is covered by `manage.py rotate_encryption_keys` and never appears in a dump or in the admin.
Settings: OTP_TOTP_ISSUER (label of the otpauth:// URL), OTP_TOTP_SYNC (track drift, default True),
OTP_TOTP_THROTTLE_FACTOR (seconds of back-off after the first failure, doubling; 0 disables, default 1).
"""
from __future__ import annotations

import time
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import hex_validator, random_hex

from accounts.fields import EncryptedTextField

SEED_BYTES = 20

_THROTTLE_FIELDS = ["throttling_failure_timestamp", "throttling_failure_count"]


def default_key() -> str:
    """A new random seed: 20 bytes (160 bits, as RFC 4226 recommends for HMAC-SHA1), as hex."""
    return random_hex(SEED_BYTES)


def validate_key(value: str) -> None:
    hex_validator()(value)


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """A user's authenticator app: a TOTP seed shared once (QR code) and kept encrypted."""

    key = EncryptedTextField(default=default_key, validators=[validate_key], editable=False,
                             help_text="The hex-encoded seed, stored Fernet-encrypted.")
    step = models.PositiveSmallIntegerField(default=30, help_text="The time step in seconds.")
    t0 = models.BigIntegerField(default=0, help_text="The Unix time at which to begin counting steps.")
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6,
                                              help_text="The number of digits in a code.")
    tolerance = models.PositiveSmallIntegerField(default=1,
                                                 help_text="Time steps in the past or future that are accepted.")
    drift = models.SmallIntegerField(default=0,
                                     help_text="Time steps the app is known to deviate from our clock.")
    last_t = models.BigIntegerField(default=-1, help_text="Time step of the last accepted code; "
                                                          "a code must be at a later step (no replay).")

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    @property
    def base32_key(self) -> str:
        """The seed as authenticator apps take it (RFC 4648 base32, no padding)."""
        return b32encode(self.bin_key).decode().rstrip("=")

    @property
    def config_url(self) -> str:
        """The otpauth:// URL an authenticator app reads from the QR code (Key Uri Format)."""
        label = str(self.user.get_username())
        query = urlencode({"secret": self.base32_key, "algorithm": "SHA1", "digits": self.digits,
                           "period": self.step})
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        if issuer:
            label = f"{issuer}:{label}"
            query += f"&issuer={quote(issuer)}"  # RFC 3986 quoting, as the apps expect
        return f"otpauth://totp/{quote(label)}?{query}"

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        """True for a code of the current time step (± tolerance) not older than the last accepted one.

        A success records the step (a code is accepted once), the drift and the use, and resets the
        back-off; a failure extends the back-off. While backing off every code is refused. Only the
        changed columns are written: the encrypted seed is not rewritten on every sign-in.
        """
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            code = int(token)
        except (TypeError, ValueError):
            code = None
        verified = False
        if code is not None:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = totp.verify(code, self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                changed = ["last_t", "last_used_at", *_THROTTLE_FIELDS]
                if getattr(settings, "OTP_TOTP_SYNC", True):
                    self.drift = totp.drift
                    changed.append("drift")
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self._save_fields(changed)
        if not verified:
            self.throttle_increment(commit=False)
            self._save_fields(_THROTTLE_FIELDS)
        return verified

    def _save_fields(self, fields: list[str]) -> None:
        self.save(update_fields=None if self.pk is None else fields)
