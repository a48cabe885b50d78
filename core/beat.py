"""Seeding Celery beat schedules from data migrations (django-celery-beat rows, editable in the admin).

Works with a migration's historical models (`apps`), so a migration that calls it stays valid as the
models change; imports no app.
"""
from __future__ import annotations

from typing import Any


def seed_every(apps: Any, name: str, task: str, seconds: int, **fields: Any) -> None:
    """Create the periodic task `name` running `task` every `seconds`, unless it exists (an operator's
    edits of it are kept)."""
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
    task_model.objects.get_or_create(name=name, defaults={"task": task, "interval": every, "enabled": True, **fields})


def drop(apps: Any, name: str) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()
