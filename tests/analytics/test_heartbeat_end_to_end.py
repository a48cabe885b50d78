"""A real Celery beat and worker (Redis, PostgreSQL): beat sends the heartbeat from its database schedule, the
worker records it, and the operators' health panel turns both green. (CI runs this.)"""
from __future__ import annotations

import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from analytics.models import Heartbeat
from analytics.services import health
from analytics.tasks import HEARTBEAT_TASK, WORKER
from tests.maintenance.test_beat_end_to_end import beat_and_worker  # noqa: F401  (a fixture: starts both)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def test_beat_and_a_worker_keep_the_heartbeat_fresh(beat_and_worker):  # noqa: F811
    queue, start = beat_and_worker
    assert [pulse.healthy for pulse in health.worker_and_beat()] == [False, False]
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.exclude(name=HEARTBEAT_TASK).update(enabled=False)
    PeriodicTask.objects.update_or_create(name=HEARTBEAT_TASK, defaults={
        "task": "analytics.tasks.heartbeat", "interval": every, "queue": queue, "enabled": True})

    start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not Heartbeat.objects.filter(name=WORKER).exists():
        time.sleep(0.5)
    worker, _ = health.worker_and_beat()
    assert worker.healthy, worker
    # Beat stamps the schedule's last_run_at when it syncs: at once if the first tick sent the heartbeat, else at
    # its next sync, up to 180 s (django-celery-beat's sync_every) later; so that wait has a deadline of its own.
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and not PeriodicTask.objects.get(name=HEARTBEAT_TASK).last_run_at:
        time.sleep(0.5)
    assert all(pulse.healthy for pulse in health.worker_and_beat())
