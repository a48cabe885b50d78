import pytest
from django.contrib.auth.hashers import check_password, make_password

pytestmark = pytest.mark.django_db


def test_passwords_are_argon2_with_the_pepper(settings):
    encoded = make_password("a long enough passphrase")
    assert encoded.startswith("argon2_peppered$argon2id$")
    assert check_password("a long enough passphrase", encoded)
    settings.API_KEY_PEPPER = "a different pepper"
    assert not check_password("a long enough passphrase", encoded)


def test_weak_passwords_are_refused():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("password1", "12345678901", "short"):
        with pytest.raises(ValidationError):
            validate_password(weak)
