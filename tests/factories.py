"""factory_boy factories shared by the whole suite."""
from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import User

PASSWORD = "correct-horse-battery-9"
_hashed: dict[str, str] = {}


def hashed_password() -> str:
    # Argon2 is deliberately slow: hash the shared test password once per run.
    if PASSWORD not in _hashed:
        _hashed[PASSWORD] = make_password(PASSWORD)
    return _hashed[PASSWORD]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"trader{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.LazyFunction(hashed_password)
    role = "trader"


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"operator{n}")
    is_staff = True
    is_superuser = True
    role = "admin"


def enrolled(user: User):
    """Give the user a confirmed authenticator app (as after enrollment); returns the device."""
    from accounts.models import AuthenticatorDevice

    return AuthenticatorDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def verified(user: User, device=None) -> User:
    """The user as a request's user is after the second-factor step: enrolled and verified by the device
    (django-otp's middleware sets otp_device and is_verified() the same way)."""
    from functools import partial

    from django_otp.middleware import is_verified

    from accounts.models import AuthenticatorDevice

    device = device or AuthenticatorDevice.objects.filter(user=user, confirmed=True).first() or enrolled(user)
    user.otp_device = device
    user.is_verified = partial(is_verified, user)
    return user
