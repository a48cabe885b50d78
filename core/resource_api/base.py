"""The base of every /api/ viewset: per-user scoping in one place, and domain errors as 400/404/409.

`get_queryset()` narrows the class queryset to request.user through the model's `for_user(user)` when
its queryset has one, else `filter(<user_field>=user)`. No subclass may override get_queryset without
calling super(): an operator is a user like any other here (operators see everything in the admin).
"""
from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, QuerySet
from rest_framework import exceptions, status, viewsets
from rest_framework.response import Response

from core.errors import DomainError, ErrorKind

_FIELD_MESSAGE = re.compile(r"^([a-z_][a-z0-9_]*(?:\[\d+\])?(?:\.[a-z_][a-z0-9_]*)*): (.+)$", re.DOTALL)


def field_errors(message: str) -> dict[str, Any]:
    """Services say "quantity: must be positive"; DRF clients expect {"quantity": ["must be positive"]}."""
    match = _FIELD_MESSAGE.match(message)
    if match:
        return {match.group(1): [match.group(2)]}
    return {"detail": message}


#: The resource API's HTTP status for each kind of domain error.
STATUS_OF_KIND = {
    ErrorKind.INVALID: 400, ErrorKind.REFUSED: 400, ErrorKind.REJECTED: 400, ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409, ErrorKind.FORBIDDEN: 403, ErrorKind.UNAVAILABLE: 500, ErrorKind.NOT_SUPPORTED: 501,
}


def domain_error_response(exc: Exception) -> Response | None:
    """The answer to a domain error, or None if `exc` is not one (then DRF or the 500 handler answers).
    Domain errors (DomainError, or any error with an ErrorKind `kind`, as a broker's) are mapped to
    HTTP here, once, for the resource API."""
    kind = getattr(exc, "kind", None)
    if isinstance(exc, DomainError) or isinstance(kind, ErrorKind):
        body = field_errors(getattr(exc, "message", str(exc)))
        if getattr(exc, "order_id", None):  # a refusal is recorded: say where
            body["order_id"] = exc.order_id
        return Response(body, status=STATUS_OF_KIND[kind])
    if isinstance(exc, DjangoValidationError):
        body = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProtectedError):
        return Response({"detail": "It is still referenced (orders, trades) and cannot be deleted; "
                                   "deactivate it instead."}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, IntegrityError):
        # A unique constraint lost a race that validation could not see coming.
        return Response({"detail": "This conflicts with an existing record."}, status=status.HTTP_409_CONFLICT)
    return None


class ResourceApiMixin:
    """Rate limits per API key (scope "api", as /api/v1/; the throttle is DRF's default throttle class,
    accounts.ratelimit's, in settings) and domain errors as 400/404/409 in DRF's error shape; 429
    answers carry `retry_after` seconds."""

    throttle_scope = "api"

    def handle_exception(self, exc: Exception) -> Response:
        response = domain_error_response(exc)
        if response is not None:
            return response
        response = super().handle_exception(exc)
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            response.data["retry_after"] = max(1, int(exc.wait))
        return response


class ScopedViewSet(ResourceApiMixin, viewsets.GenericViewSet):
    """A GenericViewSet whose querysets are always the requesting user's rows."""

    user_field = "user"

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular introspects without a user
            return queryset.none()
        user = self.request.user
        for_user = getattr(queryset, "for_user", None)
        return for_user(user) if callable(for_user) else queryset.filter(**{self.user_field: user})


class GlobalViewSet(ResourceApiMixin, viewsets.GenericViewSet):
    """For data that belongs to no user (the instrument master, the calendar)."""
