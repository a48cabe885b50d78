"""Two middlewares: the IP-ban check (first, before any work) and the request log (traffic and API logs).

IpBanMiddleware answers 403 to a banned address before anything else runs: one cache round trip, no
query while the ban list is cached (analytics.bans). RequestLogMiddleware times the request and hands a
record of plain values to the log buffer; redaction and the database write happen on the buffer's
thread (analytics.buffer, analytics.writer). It also counts not-found answers for the ban trackers.
"""
from __future__ import annotations

import logging
from time import perf_counter

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from analytics import bans, buffer
from core.clientip import client_ip

log = logging.getLogger(__name__)

BANNED_MESSAGE = "This address is banned. Contact the operator if you think this is a mistake."


def banned_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/v1/") or "/webhook/" in request.path:
        return JsonResponse({"status": "error", "message": BANNED_MESSAGE}, status=403)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": BANNED_MESSAGE}, status=403)
    return HttpResponse(BANNED_MESSAGE, status=403, content_type="text/plain; charset=utf-8")


class IpBanMiddleware:
    """403 for a banned client address, before any other work. Fails open (with a warning) when the cache
    and the database cannot be read: the views behind answer 503 then."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.IP_BANS_ENABLED:
            try:
                banned = bans.is_banned(client_ip(request))
            except Exception as exc:
                log.warning("analytics: ban check skipped: %s: %s", type(exc).__name__, str(exc)[:200])
                banned = False
            if banned:
                return banned_response(request)
        return self.get_response(request)


def _user(request: HttpRequest) -> tuple[int | None, str]:
    user = getattr(request, "user", None)  # DRF puts the API key's owner here too
    try:
        if user is not None and user.is_authenticated:
            return user.pk, user.get_username()
    except Exception:  # the session or user could not be read (database down): log without a user
        return None, ""
    return None, ""


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestLogMiddleware:
    """The traffic log for every request it sees, the API log for API_LOG_PREFIXES, not-found counting."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.api_prefixes = tuple(settings.API_LOG_PREFIXES)
        self.not_found_ignored = tuple(settings.IP_BAN_NOT_FOUND_IGNORE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        traffic = settings.TRAFFIC_LOG_ENABLED
        api = settings.API_LOG_ENABLED and request.path.startswith(self.api_prefixes)
        if not (traffic or api or settings.IP_BANS_ENABLED):
            return self.get_response(request)
        started = perf_counter()
        body = self._request_body(request) if api else b""
        response = self.get_response(request)
        try:
            self._record(request, response, perf_counter() - started, traffic, api, body)
        except Exception as exc:  # logging never breaks an answer
            log.warning("analytics: request not logged: %s: %s", type(exc).__name__, str(exc)[:200])
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        request._analytics_error = f"{type(exception).__name__}: {exception}"

    @staticmethod
    def _request_body(request: HttpRequest) -> bytes:
        """Read the body before the view does (it cannot be read again after a parser streamed it), when
        it is small enough to log; a larger body is logged by its size."""
        if request.method not in _BODY_METHODS:
            return b""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return b""
        if not length or length > settings.API_LOG_CAPTURE_LIMIT:
            return b""
        try:
            return request.body
        except Exception:  # too big for DATA_UPLOAD_MAX_MEMORY_SIZE, or already read: the view will say
            return b""

    def _record(self, request: HttpRequest, response: HttpResponse, seconds: float, traffic: bool, api: bool,
                body: bytes) -> None:
        now = timezone.now()
        ip = client_ip(request)
        status = response.status_code
        if status == 404 and settings.IP_BANS_ENABLED and ip and not request.path.startswith(self.not_found_ignored):
            buffer.add(("hit", "notfound", ip, timezone.localdate(now), request.path, now))
        if not (traffic or api):
            return
        user_id, username = _user(request)
        streaming = getattr(response, "streaming", False)
        content = b"" if streaming else response.content
        response_size = len(content) if not streaming else _int(response.get("Content-Length"))
        duration_ms = round(seconds * 1000, 3)
        if traffic:
            buffer.add(("traffic", {
                "timestamp": now, "ip": ip, "method": request.method or "", "path": request.path,
                "status": status, "duration_ms": duration_ms, "host": request.META.get("HTTP_HOST", ""),
                "user_id": user_id, "username": username,
                "request_size": _int(request.META.get("CONTENT_LENGTH")), "response_size": response_size,
                "error": getattr(request, "_analytics_error", "") or _server_error(status, content),
            }))
        if api:
            capture = settings.API_LOG_CAPTURE_LIMIT
            auth = getattr(request, "auth", None)
            buffer.add(("api", {
                "timestamp": now, "ip": ip, "user_id": user_id, "username": username,
                "key_verified": getattr(auth, "key_id", None) is not None,
                "header_key": request.META.get("HTTP_X_API_KEY") or _api_key_header(request),
                "method": request.method or "", "path": request.path, "query": request.META.get("QUERY_STRING", ""),
                "status": status, "duration_ms": duration_ms,
                "request_type": request.META.get("CONTENT_TYPE", ""), "request_body": body,
                "response_type": response.get("Content-Type", ""),
                "response_body": content if len(content) <= capture else b"",
                "response_truncated": len(content) > capture, "response_size": response_size,
                "analyze": b'"mode":"analyze"' in content[-200:] or b'"mode": "analyze"' in content[-200:],
            }))


def _server_error(status: int, content: bytes) -> str:
    """For a 5xx a view answered itself (DRF catches its exceptions): the start of what it said."""
    if status < 500 or not content:
        return ""
    return f"HTTP {status}: " + content[:300].decode("utf-8", errors="replace")


def _api_key_header(request: HttpRequest) -> str:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value if scheme.lower() == "api-key" else ""


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
