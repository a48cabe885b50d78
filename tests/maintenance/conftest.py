"""Helpers of the maintenance tests: old and new log rows, policies set for a test."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import TrafficLog
from analytics.routers import logs_db
from maintenance.models import RetentionPolicy

ALL = "__all__"  # the logs may live in a database of their own (analytics.routers)


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def traffic(n: int, age_days: float, path: str = "/old") -> list[TrafficLog]:
    rows = [TrafficLog(timestamp=days_ago(age_days), client_ip="203.0.113.9", method="GET", path=f"{path}/{i}",
                       status=200, duration_ms=1.5, host="desk", username="trader", response_size=i)
            for i in range(n)]
    return TrafficLog.objects.using(logs_db()).bulk_create(rows)


def subprocess_env() -> dict[str, str]:
    """The environment of a process (a worker, beat, a command) that must use the test's PostgreSQL database,
    so it sees the rows a transactional test committed."""
    import os

    from django.conf import settings

    def url(alias: str) -> str:
        db = settings.DATABASES[alias]
        return (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                f"{db['NAME']}")

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": url("default")}
    if "logs" in settings.DATABASES:
        env["LOGS_DATABASE_URL"] = url("logs")
    return env


def policy(target: str, **fields) -> RetentionPolicy:
    found = RetentionPolicy.objects.get(target=target)
    for name, value in fields.items():
        setattr(found, name, value)
    found.save()
    return found


@pytest.fixture
def traffic_policy(db):
    return policy("analytics.traffic", keep_days=90, action="archive", batch_size=100, enabled=True)
