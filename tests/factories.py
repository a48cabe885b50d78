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
