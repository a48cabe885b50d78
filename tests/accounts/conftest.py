"""Helpers for the accounts tests: second-factor devices, real TOTP codes, signed-in clients."""
from __future__ import annotations

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp

from accounts.models import AuthenticatorDevice
from tests.factories import StaffFactory, UserFactory


def totp_code(device: AuthenticatorDevice) -> str:
    """The code an authenticator app would show now for this device."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def enroll(user) -> AuthenticatorDevice:
    return AuthenticatorDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def sign_in(client: Client, user, device: AuthenticatorDevice | None = None) -> Client:
    """A session as after the full sign-in: logged in and, given a device, verified by it."""
    client.force_login(user)
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def trader(db):
    return UserFactory()


@pytest.fixture
def operator(db):
    return StaffFactory()
