"""When the database or the cache cannot be reached, the APIs answer 503 with a clear JSON message, quickly.

The connect and statement timeouts (settings DB_CONNECT_TIMEOUT, DB_STATEMENT_TIMEOUT, REDIS_TIMEOUT)
turn a database or Redis that never answers into an error within seconds; this module turns that error
into `503 Service Unavailable` with `Retry-After`, in each API's own shape, and one warning line in the
log (no traceback: an outage is not a bug). OpenAlgo's views answer it themselves (`answer()`); every
other view's exception reaches `OutageMiddleware.process_exception`.

A service that could not be connected to is then taken as down in this process for OUTAGE_HOLD_SECONDS:
API requests meanwhile get the 503 at once instead of each holding a worker for the connect timeout.
A cancelled statement or a locked SQLite database answers 503 too, but says nothing about the next request.
"""
from __future__ import annotations

import logging
import time

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, JsonResponse
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
OUTAGE_HOLD_SECONDS = 2.0
CACHE_ERRORS = (ConnectionInterrupted, RedisConnectionError, RedisTimeoutError)
# Paths that speak OpenAlgo's error shape ({"status": "error", "message"}); the rest of /api/ is DRF's.
OPENALGO_PREFIXES = ("/api/v1/", "/strategy/webhook/", "/chartink/webhook/")
API_PREFIXES = (*OPENALGO_PREFIXES, "/api/")

_down_until: dict[str, float] = {}  # service -> monotonic time; per process, like the connections


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


def answer(path: str, service: str, exc: BaseException | None = None) -> JsonResponse:
    """The 503 for `path` in its API's shape. With `exc`: log it, and hold the service as down if it
    could not even be connected to."""
    if exc is not None:
        log.warning("%s unavailable answering %s: %s: %s", service, path, type(exc).__name__,
                    str(exc).strip()[:200])
        if service == "cache" or connection.connection is None:  # never connected (the database's case)
            _down_until[service] = time.monotonic() + OUTAGE_HOLD_SECONDS
    text = message(service)
    body = {"status": "error", "message": text} if path.startswith(OPENALGO_PREFIXES) else {"detail": text}
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def held_down() -> str | None:
    """The service taken as down in this process right now, if any."""
    now = time.monotonic()
    return next((service for service, until in _down_until.items() if until > now), None)


class OutageMiddleware:
    """503 JSON on the APIs: at once while a service is held down, else when a view fails for want of one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path.startswith(API_PREFIXES):
            service = held_down()
            if service:
                return answer(request.path, service)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> JsonResponse | None:
        service = unavailable(exc)
        if service is None or not request.path.startswith(API_PREFIXES):
            return None
        return answer(request.path, service, exc)
