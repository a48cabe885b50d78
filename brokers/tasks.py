"""Celery tasks of the brokers app. Schedules live in the database (django-celery-beat, admin-editable)."""
from __future__ import annotations

from celery import shared_task

from brokers.services import health


@shared_task(name="brokers.tasks.health_check", time_limit=120, soft_time_limit=100)
def health_check() -> str:
    """Ping every active trading account, record connection health, fail over or back (every 30 s)."""
    return str(health.run_checks())
