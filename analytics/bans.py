"""IP bans: deciding, lifting, and the per-request look-up through the shared cache.

The look-up is one cache round trip (get_many of two keys): the active bans and the never-ban list as one
entry, and a generation token. Every change (a ban, a lift, an edit in the admin, a never-ban entry)
commits, then sets a new generation; an entry whose generation is not the current one is reloaded from
the database. So a lifted ban is seen by every process at once, and a process that read the database
just before a change and stored its entry just after cannot keep the stale entry: its generation is old.

Never banned: loopback, settings.IP_BAN_ALLOWLIST and the admin's never-ban list (AllowedIp), so a
reverse proxy's address cannot lock everyone out.
"""
from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.models import AllowedIp, BanSource, IpBan
from core.clientip import Network, in_networks, parse_networks

log = logging.getLogger(__name__)

GENERATION_KEY = "ipban:generation"
STATE_KEY = "ipban:state"
_parsed: tuple[str, tuple[Network, ...]] | None = None  # (generation, allowed networks) of this process


def limit_for(kind: str) -> int:
    return {"notfound": settings.IP_BAN_NOT_FOUND_LIMIT, "invalid_key": settings.IP_BAN_INVALID_KEY_LIMIT}[kind]


# --- the look-up ---------------------------------------------------------------------------------------
def invalidate() -> None:
    """Every process reloads the bans on its next request (the cache is shared)."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)


def invalidate_on_commit() -> None:
    """Now (seen inside this transaction, and by tests whose transaction never commits) and again after
    the commit: a process that reloads between the two stores the old bans under the first token, which
    the second replaces."""
    invalidate()
    transaction.on_commit(invalidate)


def _load(generation: str) -> dict:
    now = timezone.now()
    bans = {ip: (None if permanent else expires.timestamp())
            for ip, permanent, expires in IpBan.objects.active(now).values_list("ip", "is_permanent", "expires_at")}
    allowed = list(AllowedIp.objects.values_list("network", flat=True))
    return {"generation": generation, "bans": bans, "allowed": allowed}


def state() -> dict:
    """The active bans and the never-ban list, from the cache when its generation is current."""
    found = cache.get_many([GENERATION_KEY, STATE_KEY])
    generation, entry = found.get(GENERATION_KEY), found.get(STATE_KEY)
    if generation is not None and entry is not None and entry.get("generation") == generation:
        return entry
    if generation is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
        generation = cache.get(GENERATION_KEY)
    entry = _load(generation)
    cache.set(STATE_KEY, entry, settings.IP_BAN_CACHE_SECONDS)
    return entry


def _allowed_networks(entry: dict) -> tuple[Network, ...]:
    global _parsed
    if _parsed is None or _parsed[0] != entry["generation"]:
        _parsed = (entry["generation"], parse_networks(entry["allowed"], "AllowedIp"))
    return _parsed[1]


def _settings_allowlist() -> tuple[Network, ...]:
    return parse_networks(tuple(settings.IP_BAN_ALLOWLIST), "IP_BAN_ALLOWLIST")


def is_protected(ip: str, entry: dict | None = None) -> bool:
    """Loopback, IP_BAN_ALLOWLIST and the admin's never-ban list are never banned."""
    try:
        if ipaddress.ip_address(ip).is_loopback:
            return True
    except ValueError:
        return False
    if in_networks(ip, _settings_allowlist()):
        return True
    entry = entry if entry is not None else state()
    return in_networks(ip, _allowed_networks(entry))


def is_banned(ip: str | None) -> bool:
    """True when requests from `ip` must be refused. One cache round trip; no query while cached."""
    if not ip:
        return False
    entry = state()
    if ip not in entry["bans"]:
        return False
    expires = entry["bans"][ip]
    if expires is not None and expires <= time.time():
        return False
    return not is_protected(ip, entry)


# --- deciding and lifting ------------------------------------------------------------------------------
def ban(ip: str, reason: str, source: str = BanSource.SYSTEM) -> IpBan | None:
    """Ban `ip` for IP_BAN_HOURS; its IP_BAN_PERMANENT_AFTER-th ban is permanent. An active ban is left as
    it is. Returns the ban, or None when the address is never banned."""
    ip = str(ipaddress.ip_address(ip))
    if is_protected(ip):
        log.info("analytics: %s not banned (%s): the address is on the never-ban list", ip, reason)
        return None
    try:
        return _ban(ip, reason, source)
    except IntegrityError:  # a first ban created concurrently: the row exists now
        return _ban(ip, reason, source)


def _ban(ip: str, reason: str, source: str) -> IpBan:
    now = timezone.now()
    with transaction.atomic():
        existing = IpBan.objects.select_for_update().filter(ip=ip).first()
        if existing is not None and existing.is_active:
            return existing
        count = (existing.ban_count + 1) if existing is not None else 1
        permanent = 0 < settings.IP_BAN_PERMANENT_AFTER <= count
        fields = {"reason": reason[:255], "ban_count": count, "banned_at": now, "is_permanent": permanent,
                  "expires_at": None if permanent else now + timedelta(hours=settings.IP_BAN_HOURS),
                  "created_by": source, "lifted_at": None, "lifted_by": ""}
        if existing is None:
            found = IpBan.objects.create(ip=ip, **fields)
        else:
            IpBan.objects.filter(pk=existing.pk).update(**fields)
            found = IpBan.objects.get(pk=existing.pk)
        invalidate_on_commit()
    log.warning("analytics: banned %s (%s), ban %d, %s", ip, reason, count,
                "permanent" if permanent else f"until {fields['expires_at']:%Y-%m-%d %H:%M} UTC")
    return found


def ban_for_tracker(kind: str, ip: str, total: int) -> IpBan | None:
    what = {"notfound": "not-found answers", "invalid_key": "requests with an invalid API key"}[kind]
    if is_banned(ip):
        return None
    return ban(ip, f"{total} {what} today (limit {limit_for(kind)})")


def lift(ips: list[str], by: str = "") -> int:
    """End the bans of `ips` now (their ban_count is kept), reset today's trackers for them so they start
    from zero, and make every process see it at once. Returns how many were active."""
    from analytics.models import InvalidKeyTracker, NotFoundTracker
    from analytics.routers import logs_db

    now = timezone.now()
    with transaction.atomic():
        lifted = IpBan.objects.active(now).filter(ip__in=ips).update(
            expires_at=now, is_permanent=False, lifted_at=now, lifted_by=by[:150])
        invalidate_on_commit()
    day = timezone.localdate()
    for model in (NotFoundTracker, InvalidKeyTracker):
        model.objects.using(logs_db()).filter(ip__in=ips, day=day).update(count=0)
    return lifted
