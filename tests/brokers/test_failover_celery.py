"""End to end on real processes: Celery beat (database scheduler) triggers the health check on a real
worker over Redis; the test stops a loopback upstream and sees the failover, then starts it again and
sees the fail-back. CI runs this (PostgreSQL, so the worker and beat share the test's database, and
Redis); the intervals are shortened through the seeded beat row and the workers' environment."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from brokers.models import ConnectionStatus, FailoverEvent, FailoverKind, TradingAccount
from brokers.services.accounts import make_primary
from tests.brokers.factories import TradingAccountFactory
from tests.brokers.loopback_upstream import API_KEY, LoopbackUpstream
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
TASK = "brokers.tasks.health_check"

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    """The test database (not the one DATABASE_URL names): the worker and beat must see the test's rows."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def processes(tmp_path):
    """A worker on a queue of its own and one beat, both on the test database; the health check's row
    made to run every second on that queue, every other schedule disabled."""
    queue = f"failover-e2e-{os.getpid()}-{time.monotonic_ns()}"
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.exclude(task=TASK).update(enabled=False)
    # The seeded row, or a new one where an earlier transactional test flushed the seeded rows away.
    if not PeriodicTask.objects.filter(task=TASK).update(interval=every, queue=queue, enabled=True):
        PeriodicTask.objects.create(name="brokers: health check (end-to-end test)", task=TASK, interval=every,
                                    queue=queue, enabled=True)
    PeriodicTasks.update_changed()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": _database_url(),
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "BROKER_HEALTH_CHECK_TIMEOUT": "1",
           "BROKER_FAILOVER_AFTER_FAILURES": "2", "BROKER_FAILBACK_AFTER_SUCCESSES": "3"}
    commands = {
        "worker": ["worker", "--pool=solo", "--concurrency=1", "-Q", queue, "--without-gossip", "--without-mingle",
                   "--loglevel=INFO"],
        "beat": ["beat", "--loglevel=INFO", f"--pidfile={tmp_path / 'beat.pid'}",
                 f"--schedule={tmp_path / 'beat-schedule'}"],
    }
    started = {}
    for name, args in commands.items():
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed below)
        started[name] = (subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *args], cwd=ROOT,
                                          env=env, stdout=log, stderr=subprocess.STDOUT), log)
    try:
        yield queue
    finally:
        for proc, log in reversed(started.values()):  # beat first: it stops sending
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)  # what beat sent after the worker left
        for name in commands:
            print(f"--- {name} ---\n" + (tmp_path / f"{name}.log").read_text()[-3000:])


def wait_for(condition, timeout: float = 90.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def primary_name(user) -> str | None:
    return TradingAccount.objects.filter(user=user, is_primary=True).values_list("name", flat=True).first()


def test_beat_and_a_worker_fail_over_and_back_when_an_upstream_stops_and_starts(processes):
    main_server, backup_server = LoopbackUpstream("main"), LoopbackUpstream("backup")
    try:
        user = UserFactory()
        main = TradingAccountFactory(user=user, name="main", priority=1,
                                     credentials={"host_url": main_server.url, "api_key": API_KEY})
        TradingAccountFactory(user=user, name="backup", priority=2,
                              credentials={"host_url": backup_server.url, "api_key": API_KEY})
        make_primary(main)
        wait_for(lambda: TradingAccount.objects.filter(user=user, connection_status=ConnectionStatus.CONNECTED)
                 .count() == 2, what="the first checks")
        main_server.stop()
        wait_for(lambda: primary_name(user) == "backup", what="the failover")
        main_server.start()
        wait_for(lambda: primary_name(user) == "main", what="the fail-back")
        kinds = list(FailoverEvent.objects.filter(user=user).order_by("created_at")
                     .values_list("kind", "success", "from_account__name", "to_account__name"))
        assert kinds == [(FailoverKind.FAILOVER, True, "main", "backup"),
                         (FailoverKind.FAILBACK, True, "backup", "main")]
        assert main_server.count("ping") >= 3
        assert backup_server.count("ping") >= 3
    finally:
        main_server.stop()
        backup_server.stop()
