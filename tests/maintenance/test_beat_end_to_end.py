"""A real Celery beat and worker on Redis and PostgreSQL: beat reads the retention policy's schedule from the
database, the worker runs it, old rows end up archived and the run's summary in the system log.
(CI runs this; it needs DATABASE_URL on PostgreSQL and REDIS_URL.)"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from analytics.models import SystemLog, TrafficLog, TrafficLogArchive
from analytics.routers import logs_db
from tests.maintenance.conftest import policy, subprocess_env, traffic

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def _start(args: list[str], log_path: Path) -> subprocess.Popen:
    env = {**subprocess_env(), "LOG_FLUSH_SECONDS": "0.2", "CELERY_RESULT_BACKEND": "django-db"}
    with open(log_path, "w") as log:
        return subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *args], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture
def beat_and_worker(tmp_path):
    queue = f"retention-e2e-{os.getpid()}-{time.monotonic_ns()}"
    procs = []

    def start() -> None:
        procs.append(_start(["worker", "--pool=solo", "--concurrency=1", "-Q", queue, "--without-gossip",
                             "--without-mingle", "--loglevel=INFO"], tmp_path / "worker.log"))
        procs.append(_start(["beat", "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                             "--max-interval", "1", "--pidfile", str(tmp_path / "beat.pid"), "--loglevel=INFO"],
                            tmp_path / "beat.log"))

    yield queue, start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for name in ("beat.log", "worker.log"):
        if (tmp_path / name).exists():
            print(f"--- {name}\n" + (tmp_path / name).read_text()[-3000:])


def test_beat_triggers_the_retention_policy_and_the_worker_archives_old_rows(beat_and_worker):
    queue, start = beat_and_worker
    old = {row.pk for row in traffic(300, age_days=100)}
    traffic(5, age_days=1, path="/new")
    found = policy("analytics.traffic", action="archive", batch_size=100, enabled=True)
    # Only this policy's task runs, every second, on a queue of this test's own worker.
    PeriodicTask.objects.exclude(pk=found.schedule_id).update(enabled=False)
    task = found.schedule
    task.crontab, task.interval = None, IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    task.queue = queue
    task.save()

    start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if TrafficLogArchive.objects.using(logs_db()).count() == len(old):
            break
        time.sleep(0.5)

    assert set(TrafficLogArchive.objects.using(logs_db()).values_list("pk", flat=True)) == old
    assert TrafficLog.objects.using(logs_db()).count() == 5
    while time.monotonic() < deadline and not SystemLog.objects.using(logs_db()).filter(
            component="maintenance.retention", message__contains="archived 300 rows").exists():
        time.sleep(0.5)
    assert SystemLog.objects.using(logs_db()).filter(component="maintenance.retention",
                                                     message__contains="archived 300 rows in 3 batches").exists()
