"""Housekeeping of the ban tables (run by maintenance.tasks): ended bans forgotten, yesterday's trackers reset."""
from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from analytics.models import InvalidKeyTracker, IpBan, NotFoundTracker
from analytics.routers import logs_db


def forget_ended_bans(now=None) -> int:
    """Delete bans that ended more than IP_BAN_FORGET_DAYS ago (expired or lifted; never a permanent one).
    A ban row is what counts an address's bans toward IP_BAN_PERMANENT_AFTER, so an address banned again
    within that period keeps its count; after it, the address starts from a first ban again. 0: keep all."""
    days = settings.IP_BAN_FORGET_DAYS
    if days <= 0:
        return 0
    before = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = IpBan.objects.filter(is_permanent=False, expires_at__lt=before).delete()
    return deleted  # no cache to drop: ended bans are not in the cached list of active ones


def reset_trackers(today: date | None = None) -> int:
    """Delete the not-found and invalid-key counts of days before today (the counts are per day, in the
    server's TIME_ZONE, as analytics.middleware writes them). Returns the rows deleted."""
    today = today or timezone.localdate()
    return sum(model.objects.using(logs_db()).filter(day__lt=today).delete()[0]
               for model in (NotFoundTracker, InvalidKeyTracker))
