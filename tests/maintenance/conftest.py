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


def policy(target: str, **fields) -> RetentionPolicy:
    found = RetentionPolicy.objects.get(target=target)
    for name, value in fields.items():
        setattr(found, name, value)
    found.save()
    return found


@pytest.fixture
def traffic_policy(db):
    return policy("analytics.traffic", keep_days=90, action="archive", batch_size=100, enabled=True)
