"""Celery tasks of the analytics app. Schedules live in the database (django-celery-beat, admin-editable)."""
from __future__ import annotations

from celery import shared_task

from analytics.services import rollup


@shared_task(name="analytics.tasks.roll_latency_days", time_limit=600, soft_time_limit=540)
def roll_latency_days(limit: int = 31) -> str:
    """Roll closed trading days' latency figures (the latest first, at most `limit` per run; idempotent)."""
    days = rollup.days_to_roll(limit=limit)
    orders = sum(rollup.roll_day(day) for day in days)
    return f"rolled {len(days)} day(s), {orders} order(s)" + (f": {days[-1]} to {days[0]}" if days else "")
