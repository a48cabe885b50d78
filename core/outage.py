"""When the database or the cache cannot be reached, the APIs answer 503 with a clear JSON message.

The connect and statement timeouts (settings DB_CONNECT_TIMEOUT, DB_STATEMENT_TIMEOUT, REDIS_TIMEOUT)
turn a database or Redis that never answers into an error within seconds; this module turns that error
into `503 Service Unavailable` with `Retry-After`, in each API's own shape, and one warning line in the
log (no traceback: an outage is not a bug). OpenAlgo's views answer it themselves, through `unavailable()`;
every other view's exception reaches `OutageMiddleware.process_exception`.
"""
from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# Paths that speak OpenAlgo's error shape ({"status": "error", "message"}); the rest of /api/ is DRF's.
OPENALGO_PREFIXES = ("/api/v1/", "/strategy/webhook/", "/chartink/webhook/")
API_PREFIXES = (*OPENALGO_PREFIXES, "/api/")


def _cache_errors() -> tuple[type[BaseException], ...]:
    try:
        from django_redis.exceptions import ConnectionInterrupted
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - the embedded default has no Redis client
        return ()
    return ConnectionInterrupted, RedisConnectionError, RedisTimeoutError


CACHE_ERRORS = _cache_errors()


def unavailable(exc: BaseException) -> str | None:
    """"database" or "cache" if `exc` says that service cannot be reached (or timed out), else None.

    OperationalError covers a refused or timed-out connection, a cancelled statement (statement_timeout)
    and SQLite's "database is locked" after its busy timeout; InterfaceError a connection that dropped.
    """
    if isinstance(exc, CACHE_ERRORS):
        return "cache"
    if isinstance(exc, OperationalError | InterfaceError):
        return "database"
    return None


def message(service: str) -> str:
    return f"The {service} is unavailable or not answering; try again shortly."


def response_for(path: str, service: str) -> JsonResponse:
    text = message(service)
    body = {"status": "error", "message": text} if path.startswith(OPENALGO_PREFIXES) else {"detail": text}
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def log_outage(path: str, service: str, exc: BaseException) -> None:
    log.warning("%s unavailable answering %s: %s: %s", service, path, type(exc).__name__, str(exc).strip()[:200])


class OutageMiddleware:
    """Answers 503 JSON on the APIs when a view fails because the database or the cache is unreachable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> JsonResponse | None:
        service = unavailable(exc)
        if service is None or not request.path.startswith(API_PREFIXES):
            return None
        log_outage(request.path, service, exc)
        return response_for(request.path, service)
