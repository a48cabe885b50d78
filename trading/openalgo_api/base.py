"""The base of every /api/v1/ view: API-key auth, OpenAlgo's error shape, rate limits, analyze mode.

Errors are always `{"status": "error", "message": "..."}`: 400 for bad input (the message names the
field), 403 for a bad key or an operation the key may not do (accounts.permissions), 404 for an unknown order or
path, 429 with `retry_after`, and 500 only for a real fault.
"""
from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, permissions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import INVALID_KEY_MESSAGE, ApiKeyAuthentication
from accounts.models import Capability
from accounts.permissions import CredentialPermission
from accounts.ratelimit import ScopedRateThrottle
from brokers.adapters.base import BrokerError
from core import outage
from core.parsers import SafeJSONParser, UnsafeInput
from trading.services.errors import ErrorKind, TradingError, from_broker

log = logging.getLogger(__name__)

class ApiError(Exception):
    """Raise from a view to answer with OpenAlgo's error shape and the given HTTP status."""

    def __init__(self, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.message, self.status, self.extra = message, status, extra


#: OpenAlgo's HTTP status for each kind of domain error (OpenAlgo answers a broker's fault with 500).
STATUS_OF_KIND = {
    ErrorKind.INVALID: 400, ErrorKind.REFUSED: 400, ErrorKind.REJECTED: 400, ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409, ErrorKind.FORBIDDEN: 403, ErrorKind.UNAVAILABLE: 500, ErrorKind.NOT_SUPPORTED: 501,
}


def error(message: str, status: int, **extra: Any) -> Response:
    return Response({"status": "error", "message": message, **extra}, status=status)


def first_error(detail: Any, path: str = "") -> str:
    """Flatten DRF's error tree to one sentence naming the field: "orders[1].quantity: ..."."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            return first_error(value, name)
    if isinstance(detail, list) and detail:
        if all(isinstance(d, str | exceptions.ErrorDetail) for d in detail):
            return f"{path}: {detail[0]}" if path else str(detail[0])
        for index, item in enumerate(detail):
            if item:
                return first_error(item, f"{path}[{index}]")
    return f"{path}: {detail}" if path else str(detail)


class OpenAlgoView(APIView):
    """POST-only JSON view. Subclasses set `serializer_class` and implement `handle(request, data)`."""

    authentication_classes = [ApiKeyAuthentication]
    # What the key may do is checked beside the user: `capability` (accounts.permissions), default READ
    # since every OpenAlgo call is a POST; order views ask for PLACE or MANAGE.
    permission_classes = [permissions.IsAuthenticated, CredentialPermission]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "api"
    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser]
    capability = Capability.READ
    serializer_class: type[serializers.Serializer] | None = None

    def dispatch(self, request, *args, **kwargs):
        from accounts.services.usersettings import analyze_mode_request_scope

        with analyze_mode_request_scope():
            return super().dispatch(request, *args, **kwargs)

    def post(self, request: Request) -> Response:
        data: dict[str, Any] = {}
        if self.serializer_class is not None:
            body = request.data if isinstance(request.data, dict) else None
            if body is None:
                raise ApiError("The request body must be a JSON object.")
            serializer = self.serializer_class(data=body, context={"request": request, "view": self})
            if not serializer.is_valid():
                raise ApiError(first_error(serializer.errors))
            data = serializer.validated_data
        return self.handle(request, data)

    def handle(self, request: Request, data: dict[str, Any]) -> Response:
        raise NotImplementedError

    # --- responses ---------------------------------------------------------------------------
    def analyze_mode(self, request: Request) -> bool:
        from accounts.services.usersettings import is_analyze_mode

        return is_analyze_mode(request.user.pk)

    def success(self, request: Request, status: int = 200, **body: Any) -> Response:
        payload = {"status": "success", **body}
        if "mode" not in payload and self.analyze_mode(request):
            payload["mode"] = "analyze"
        return Response(payload, status=status)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, BrokerError):
            exc = from_broker(exc)
        if isinstance(exc, TradingError):  # the domain's errors: mapped here, once, for /api/v1/
            return error(exc.message, STATUS_OF_KIND[exc.kind], **exc.extra)
        if isinstance(exc, ApiError):
            return error(exc.message, exc.status, **exc.extra)
        if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
            return error(INVALID_KEY_MESSAGE, 403)
        if isinstance(exc, exceptions.PermissionDenied):
            return error(str(exc.detail), 403)
        if isinstance(exc, exceptions.Throttled):
            wait = int(exc.wait or 1)
            return error(f"Rate limit exceeded. Try again in {wait} second(s).", 429, retry_after=wait)
        if isinstance(exc, UnsafeInput):
            return error(exc.message, 400)
        if isinstance(exc, exceptions.ParseError):
            return error("The request body is not valid JSON.", 400)
        if isinstance(exc, exceptions.UnsupportedMediaType):
            return error("Send the request body as JSON (Content-Type: application/json).", 400)
        if isinstance(exc, exceptions.MethodNotAllowed):
            return error(f"Method {exc.detail} not allowed; use POST.", 405)
        if isinstance(exc, exceptions.NotFound):
            return error(str(exc.detail), 404)
        if isinstance(exc, exceptions.ValidationError):
            return error(first_error(exc.detail), 400)
        if isinstance(exc, exceptions.APIException):
            return error(str(exc.detail), exc.status_code)
        service = outage.unavailable(exc)
        if service:  # the database or the cache cannot be reached: 503, no traceback
            return outage.answer(self.request.path, service, exc)
        log.exception("Unhandled error in %s", type(self).__name__)
        return error("Internal error; the fault has been logged.", 500)


@csrf_exempt  # no form posts here: a POST to a wrong path is a 404, not Django's HTML CSRF page
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Unknown /api/v1/ paths answer in OpenAlgo's shape, not Django's HTML 404, whatever the method."""
    return JsonResponse({"status": "error", "message": f"Unknown API path /api/v1/{rest}"}, status=404)
