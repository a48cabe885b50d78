"""The client's IP address, with proxy headers trusted only from the proxies a setting names.

`REMOTE_ADDR` is the peer that opened the connection. Behind a reverse proxy that is the proxy, and the
client's address is in `X-Forwarded-For`, which anyone can also send: so the header is read only when
the peer is one of settings.TRUSTED_PROXIES (addresses or networks), and from the right, skipping the
trusted hops, so a client cannot put a fake address in front of the real one.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: list[str] | tuple[str, ...], setting: str) -> tuple[Network, ...]:
    """"10.0.0.1", "10.0.0.0/8", "::1" -> networks. A bad entry raises ImproperlyConfigured naming it."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{setting}: {value!r} is not an IP address or network.") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values, "TRUSTED_PROXIES")


def in_networks(ip: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the nearest untrusted hop of X-Forwarded-For when the peer
    is a trusted proxy. Memoized on the request (the traffic log, bans and rate limits all ask)."""
    cached = getattr(request, "_client_ip", False)
    if cached is not False:
        return cached
    ip = request.META.get("REMOTE_ADDR") or None
    trusted = _trusted(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if ip and trusted and in_networks(ip, trusted):
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        for hop in reversed(hops):
            try:
                hop = str(ipaddress.ip_address(hop))
            except ValueError:
                break  # a malformed hop: stop at the last address we could trust
            ip = hop
            if not in_networks(hop, trusted):
                break
    request._client_ip = ip
    return ip
