"""Where a trading account's broker traffic leaves this machine: a local source address, or a proxy.

Indian brokers accept API orders only from the static IP registered for each account, so a server
with many users binds each account's connections to that account's address (or sends them through
its proxy). An adapter receives the Egress in its AdapterContext and keeps one connection pool per
egress, so no request of one account ever leaves through another's.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


@dataclass(frozen=True)
class Egress:
    """One of the two, or neither (the operating system's default route)."""

    source_address: str = ""
    proxy_url: str = ""

    def __bool__(self) -> bool:
        return bool(self.source_address or self.proxy_url)

    @property
    def key(self) -> tuple[str, str]:
        """Identifies the pool: equal egresses may share connections, different ones never do."""
        return (self.source_address, self.proxy_url)

    def describe(self) -> str:
        """For logs and pages: the address, or the proxy's scheme and host (never its password)."""
        if self.source_address:
            return f"from {self.source_address}"
        if self.proxy_url:
            parts = urlsplit(self.proxy_url)
            return f"via {parts.scheme}://{parts.hostname}:{parts.port or ''}".rstrip(":")
        return "default route"


def source_address_problem(value: str) -> str | None:
    """Why `value` cannot be bound as a source address here, or None when it can.

    "Local" is decided by binding a socket to it: an address this machine does not own (or a
    typo) fails now, on the form, instead of on the first order.
    """
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return f"{value!r} is not an IP address."
    if address.is_unspecified or address.is_multicast:
        return f"{address} is not a usable source address."
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
    except OSError as exc:
        return f"{address} is not an address of this server ({exc.strerror or exc})."
    return None


def proxy_url_problem(value: str) -> str | None:
    """Why `value` is not a usable proxy URL, or None."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})."
    if parts.scheme not in PROXY_SCHEMES:
        return f"the scheme must be one of {', '.join(s + '://' for s in PROXY_SCHEMES)}."
    if not parts.hostname:
        return "the URL names no host."
    if port is None:
        return "the URL names no port (e.g. socks5://10.0.0.5:1080)."
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "a proxy URL has no path, query or fragment."
    return None


def egress_problems(source_address: str, proxy_url: str) -> dict[str, str]:
    """Problems by field name (egress_source_address, egress_proxy_url); empty when usable."""
    problems: dict[str, str] = {}
    if source_address and proxy_url:
        problems["egress_proxy_url"] = "give a source address or a proxy URL, not both."
        return problems
    if source_address and (problem := source_address_problem(source_address)):
        problems["egress_source_address"] = problem
    if proxy_url and (problem := proxy_url_problem(proxy_url)):
        problems["egress_proxy_url"] = problem
    return problems
