"""Rate limits in the shared cache, so they hold across every web process.

Rates are OpenAlgo-style strings, compound allowed: "10/second;40/minute". Each part is a fixed
window counter keyed by (scope, identity, window number); identity is the API key id when the
request carries a verified key, else the client IP. Configured by settings.RATE_LIMITS.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core.clientip import client_ip

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
            "d": 86400, "day": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int


def parse_rates(text: str) -> list[Rate]:
    """"10/second;40/minute" -> [Rate(10, 1), Rate(40, 60)]. Raises ImproperlyConfigured naming the part."""
    rates = []
    for part in filter(None, (p.strip() for p in text.replace(",", ";").split(";"))):
        count, _, period = part.partition("/")
        period = period.strip().lower()
        if period.endswith("s") and period[:-1] in _PERIODS:
            period = period[:-1]
        if not count.strip().isdigit() or period not in _PERIODS:
            raise ImproperlyConfigured(f"Bad rate limit {part!r}: use forms like '10/second' or '40/minute'.")
        rates.append(Rate(int(count), _PERIODS[period]))
    return rates


def hit(scope: str, identity: str, rates: list[Rate], now: float | None = None) -> int | None:
    """Count one request. Return None if allowed, else the seconds until the tightest window resets."""
    now = time.time() if now is None else now
    windows = [(rate, int(now // rate.seconds)) for rate in rates]
    keys = [(f"rl:{scope}:{identity}:{rate.seconds}:{window}", rate.seconds + 1) for rate, window in windows]
    counts = _count_redis(keys)
    if counts is None:
        counts = [_count(key, ttl) for key, ttl in keys]
    wait = None
    for (rate, window), count in zip(windows, counts, strict=True):
        if count > rate.limit:
            retry = max(1, int((window + 1) * rate.seconds - now + 0.999))
            wait = retry if wait is None else max(wait, retry)
    return wait


def _count(key: str, ttl: int) -> int:
    # add() then incr(): atomic on Redis; the file cache is per-machine and good enough there.
    if cache.add(key, 1, ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, ttl)
        return 1


def _count_redis(keys: list[tuple[str, int]]) -> list[int] | None:
    """Every window's counter in one Redis round trip (django-redis): SET NX with the expiry, then
    INCR, in one MULTI. None when the cache is not django-redis (the caller counts key by key)."""
    client = getattr(cache, "client", None)
    if client is None or not hasattr(client, "get_client") or not hasattr(client, "make_key"):
        return None
    pipe = client.get_client(write=True).pipeline(transaction=True)
    for key, ttl in keys:
        name = client.make_key(key)
        pipe.set(name, 0, ex=ttl, nx=True)
        pipe.incr(name)
    results = pipe.execute()
    return [int(n) for n in results[1::2]]


def check(scope: str, identity: str) -> int | None:
    """Count one request in `scope` (a key of settings.RATE_LIMITS); seconds to wait if over, else None."""
    if not settings.RATE_LIMITS_ENABLED:
        return None
    try:
        text = settings.RATE_LIMITS[scope]
    except KeyError:
        raise ImproperlyConfigured(f"RATE_LIMITS has no entry for scope {scope!r}.") from None
    return hit(scope, identity, parse_rates(text))


def ip_identity(request: HttpRequest) -> str:
    return "ip" + (client_ip(request) or "unknown")


def identity_of(request: Request) -> str:
    key_id = getattr(request.auth, "key_id", None)
    if key_id is not None:
        return f"key{key_id}"
    return ip_identity(request)


class ScopedRateThrottle(BaseThrottle):
    """A DRF throttle: set `throttle_scope` on the view to a key of settings.RATE_LIMITS."""

    def allow_request(self, request: Request, view) -> bool:
        scope = getattr(view, "throttle_scope", None)
        if not scope:
            return True
        self._wait = check(scope, identity_of(request))
        return self._wait is None

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
