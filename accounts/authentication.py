"""DRF authentication by API key: body field `apikey` (OpenAlgo style), `X-API-KEY`, or
`Authorization: Api-Key <key>`."""
from __future__ import annotations

from django.dispatch import Signal
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import ratelimit
from accounts.services import apikeys

INVALID_KEY_MESSAGE = "Invalid openalgo apikey"

# Sent with `request` for every request carrying a key that does not verify (analytics counts them per IP
# toward a ban). A signal, so accounts depends on no app that listens.
invalid_api_key = Signal()


def raw_key_from(request: Request) -> str | None:
    header = request.META.get("HTTP_X_API_KEY")
    if header:
        return header.strip()
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "api-key" and value:
        return value.strip()
    if request.method in ("POST", "PUT", "PATCH"):
        # A body that does not parse, or that the parser refuses (core.parsers), raises ParseError here,
        # before any key is looked up: the client gets the 400 that names the problem.
        data = request.data
        if isinstance(data, dict):
            value = data.get("apikey")
            if isinstance(value, str) and value:
                return value.strip()
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """request.user is the key's owner; request.auth is the VerifiedKey (key id, order mode)."""

    def authenticate(self, request: Request):
        raw = raw_key_from(request)
        if raw is None:
            return None
        found = apikeys.verify_with_user(raw)
        if found is None:
            invalid_api_key.send(sender=type(self), request=request)
            # Guessing keys costs an Argon2 verify each: bad keys are counted per client IP.
            wait = ratelimit.check("invalid_key", ratelimit.ip_identity(request))
            if wait is not None:
                raise exceptions.Throttled(wait)
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        verified, user = found  # the owner's row is cached with the verification
        if user is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        return user, verified

    def authenticate_header(self, request: Request) -> str:
        return "Api-Key"
