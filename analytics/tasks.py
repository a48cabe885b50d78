"""Celery tasks of the analytics app. Schedules live in the database (django-celery-beat, admin-editable).

The heartbeat tells the operators' dashboard whether the worker and beat are alive (analytics.services.health).
"""
from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from analytics.models import Heartbeat
from analytics.services import pnl_rollup, rollup

#: The name of the heartbeat's beat schedule (seeded by a migration) and of the worker's Heartbeat row.
HEARTBEAT_TASK = "analytics: heartbeat"
WORKER = "worker"


@shared_task(name="analytics.tasks.roll_latency_days", time_limit=600, soft_time_limit=540)
def roll_latency_days(limit: int = 31) -> str:
    """Roll closed trading days' latency figures (the latest first, at most `limit` per run; idempotent)."""
    days = rollup.days_to_roll(limit=limit)
    orders = sum(rollup.roll_day(day) for day in days)
    return f"rolled {len(days)} day(s), {orders} order(s)" + (f": {days[-1]} to {days[0]}" if days else "")


@shared_task(bind=True, name="analytics.tasks.heartbeat", time_limit=30, soft_time_limit=25, ignore_result=True)
def heartbeat(self) -> None:
    """Record that a worker ran a task just now (beat sends it every minute)."""
    Heartbeat.objects.update_or_create(name=WORKER, defaults={"seen_at": timezone.now(),
                                                              "detail": (self.request.hostname or "")[:200]})


@shared_task(name="analytics.tasks.roll_pnl_days", time_limit=600, soft_time_limit=540)
def roll_pnl_days(limit: int = 31) -> str:
    """Roll closed trading days' realized P&L (the latest first, at most `limit` per run; idempotent)."""
    days = pnl_rollup.days_to_roll(limit=limit)
    rows = sum(pnl_rollup.roll_day(day) for day in days)
    return f"rolled {len(days)} day(s), {rows} row(s)" + (f": {days[-1]} to {days[0]}" if days else "")
