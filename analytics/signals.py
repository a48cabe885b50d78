"""Receivers: invalid API keys count toward a ban; any change of a ban or of the never-ban list reaches
every process's ban look-up at once. Connected in AnalyticsConfig.ready()."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.authentication import invalid_api_key
from analytics import bans, buffer
from analytics.models import AllowedIp, IpBan
from core.clientip import client_ip


@receiver(invalid_api_key)
def count_invalid_key(sender: Any, request: Any, **kwargs: Any) -> None:
    """One hit on the invalid-API-key tracker for the client's address (written off the request path)."""
    if not settings.IP_BANS_ENABLED:
        return
    ip = client_ip(request)
    if ip:
        now = timezone.now()
        buffer.add(("hit", "invalid_key", ip, timezone.localdate(now), request.path, now))


@receiver(post_save, sender=IpBan)
@receiver(post_delete, sender=IpBan)
@receiver(post_save, sender=AllowedIp)
@receiver(post_delete, sender=AllowedIp)
def reload_bans(sender: Any, **kwargs: Any) -> None:
    bans.invalidate_on_commit()
