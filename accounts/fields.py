"""Fernet-encrypted model fields over cryptography's MultiFernet.

FERNET_KEYS lists keys newest first: values are encrypted with the first and decrypted with any, so
a key can be added in front, `manage.py rotate_encryption_keys` run, and the old key then dropped.
(The maintained Fernet-field packages derive their keys from SECRET_KEY and take no key list.)
Ciphertext is not deterministic, so these columns cannot be filtered or indexed on.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=8)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"FERNET_KEYS holds an invalid Fernet key: {exc}") from exc


def fernet() -> MultiFernet:
    return _multifernet(tuple(settings.FERNET_KEYS))


def encrypt_str(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt_str(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An encrypted value cannot be decrypted with any key in FERNET_KEYS "
            "(was a key removed before rotate_encryption_keys ran?)"
        ) from exc


def _decrypt_if_token(value: str) -> str | None:
    """The plaintext when `value` is a token under one of our keys, else None."""
    try:
        return fernet().decrypt(value.encode()).decode()
    except (InvalidToken, ValueError):
        return None


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token. Never shown by the admin or the API (mask it)."""

    description = "Fernet-encrypted text"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt_str(value)

    def to_python(self, value: Any) -> str | None:
        # A serialized fixture (dumpdata) carries the token, never the plaintext: decrypt it on loaddata.
        plain = _decrypt_if_token(value) if isinstance(value, str) else None
        return value if plain is None else plain

    def value_to_string(self, obj: models.Model) -> str | None:
        """What dumpdata writes: a fresh token, so a database dump holds no plaintext secret."""
        return self.get_prep_value(self.value_from_object(obj))

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encrypt_str(str(value))

    def get_lookup(self, lookup_name: str):
        if lookup_name not in ("isnull",):
            raise TypeError(f"Encrypted field {self.name!r} cannot be filtered with '{lookup_name}'.")
        return super().get_lookup(lookup_name)


class EncryptedJSONField(EncryptedTextField):
    """A JSON document (dict, list, scalar) stored as one Fernet token."""

    description = "Fernet-encrypted JSON"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        text = super().from_db_value(value, expression, connection)
        return None if text is None else json.loads(text)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encrypt_str(json.dumps(value, sort_keys=True, default=str))

    def to_python(self, value: Any) -> Any:
        plain = _decrypt_if_token(value) if isinstance(value, str) else None
        return value if plain is None else json.loads(plain)


def encrypted_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
