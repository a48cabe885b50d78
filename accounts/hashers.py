"""Argon2 password hashing with the server-side pepper (API_KEY_PEPPER) mixed in.

A stolen database alone is not enough to run a dictionary attack: the pepper lives only in the
environment of the running servers.
"""
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


def pepper(secret: str) -> str:
    return f"{secret}{settings.API_KEY_PEPPER}"


class PepperedArgon2PasswordHasher(Argon2PasswordHasher):
    algorithm = "argon2_peppered"

    def encode(self, password: str, salt: str) -> str:
        return super().encode(pepper(password), salt)

    def verify(self, password: str, encoded: str) -> bool:
        return super().verify(pepper(password), encoded)
