"""Suite-wide fixtures and the service markers.

Tests marked `postgres` or `redis` need that service. Where it is not configured (DATABASE_URL not
PostgreSQL, REDIS_URL unset) they are deselected, with a line saying so. Where it is configured and a
marked test skips anyway while CI=true, the skip is turned into a failure: CI must exercise them.
"""
from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.core.cache import cache


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _service_missing(item: pytest.Item) -> str | None:
    if item.get_closest_marker("postgres") and not _on_postgres():
        return "PostgreSQL (DATABASE_URL)"
    if (item.get_closest_marker("redis") or item.get_closest_marker("celery")) and not settings.REDIS_URL:
        return "Redis (REDIS_URL)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, dropped = [], {}
    for item in items:
        missing = _service_missing(item)
        if missing:
            dropped.setdefault(missing, []).append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=[i for group in dropped.values() for i in group])
        items[:] = keep
        for service, group in dropped.items():
            print(f"\n{len(group)} test(s) deselected: they need {service}; CI runs them.")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    service_test = any(item.get_closest_marker(m) for m in ("postgres", "redis", "celery"))
    if service_test and report.skipped and os.environ.get("CI") == "true":
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid} needs a service and skipped under CI=true: {report.longrepr}"
    return report


def _clear_cache() -> None:
    # On Redis, delete only our prefixed keys: FLUSHDB would also drop Celery's queues and bindings.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clean_cache():
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture(autouse=True)
def _discard_log_records():
    """Log records wait in memory in tests (LOG_FLUSH_SECONDS=0); none crosses into the next test."""
    from analytics import buffer

    buffer.buffer.discard()
    yield
    buffer.buffer.discard()


@pytest.fixture
def rate_window(monkeypatch):
    """Pin the rate limiter's clock one second into the current hour, so a test's requests fall in one
    minute (and one hour) window however long they take: fixed windows reset on the clock's minute."""
    import time
    import types

    from accounts import ratelimit

    start = int(time.time() // 3600) * 3600 + 1
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: float(start)))
    return start
