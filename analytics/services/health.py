"""Is the Celery worker alive, and is beat? Read from the heartbeat task's traces.

Beat sends analytics.tasks.heartbeat every minute (a django-celery-beat row, seeded by migration 0002)
and django-celery-beat stamps the row's last_run_at when it sends it; a worker that runs the task writes
the Heartbeat row. So beat is healthy when the schedule's last_run_at is recent, the worker when the
Heartbeat row is. django-celery-beat saves last_run_at every few minutes (its sync interval), hence a
threshold of minutes, not seconds (HEARTBEAT_STALE_SECONDS).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from analytics.models import Heartbeat
from analytics.tasks import HEARTBEAT_TASK, WORKER


@dataclass(frozen=True)
class Pulse:
    """One component's last sign of life and whether it is recent enough."""

    name: str
    last_seen: dt.datetime | None
    healthy: bool
    note: str = ""

    @property
    def age_seconds(self) -> int | None:
        return None if self.last_seen is None else int((timezone.now() - self.last_seen).total_seconds())


def _fresh(seen: dt.datetime | None, now: dt.datetime) -> bool:
    return seen is not None and now - seen <= dt.timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)


def worker_and_beat(now: dt.datetime | None = None) -> list[Pulse]:
    """[worker, beat]: two queries, each one indexed row (unique names)."""
    now = now or timezone.now()
    beat_row = PeriodicTask.objects.filter(name=HEARTBEAT_TASK).values("enabled", "last_run_at").first()
    worker_row = Heartbeat.objects.filter(name=WORKER).values("seen_at", "detail").first()
    seen = worker_row["seen_at"] if worker_row else None
    worker = Pulse("Celery worker", seen, _fresh(seen, now),
                   worker_row["detail"] if worker_row else "never ran the heartbeat task")
    if beat_row is None:
        beat = Pulse("Celery beat", None, False, f"the '{HEARTBEAT_TASK}' schedule is missing")
    elif not beat_row["enabled"]:
        beat = Pulse("Celery beat", beat_row["last_run_at"], False, f"the '{HEARTBEAT_TASK}' schedule is disabled")
    else:
        beat = Pulse("Celery beat", beat_row["last_run_at"], _fresh(beat_row["last_run_at"], now),
                     "" if beat_row["last_run_at"] else "never sent the heartbeat task")
    return [worker, beat]
