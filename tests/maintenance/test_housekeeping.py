"""Housekeeping: each job does its one thing, leaves what is current alone, and logs a one-line summary."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone
from django_celery_results.models import TaskResult

from accounts.models import ApiKey
from accounts.services import apikeys
from analytics import buffer
from analytics.models import InvalidKeyTracker, IpBan, NotFoundTracker, SystemLog
from analytics.routers import logs_db
from maintenance import tasks
from tests.factories import UserFactory
from tests.maintenance.conftest import ALL, days_ago

pytestmark = pytest.mark.django_db(databases=ALL)


def _summary() -> str:
    buffer.flush()
    return SystemLog.objects.using(logs_db()).get(component="maintenance.housekeeping").message


def test_expired_sessions_are_deleted_and_live_ones_kept():
    for age in (-1, 1):  # expired a day ago, expires in a day
        store = SessionStore()
        store["x"] = 1
        store.set_expiry(timezone.now() - timedelta(days=age))
        store.create()
    assert tasks.clear_expired_sessions().startswith("housekeeping: 1 expired sessions deleted")
    assert Session.objects.count() == 1
    assert Session.objects.get().expire_date > timezone.now()
    assert _summary().startswith("housekeeping: 1 expired sessions deleted")


def test_bans_that_ended_long_ago_are_forgotten_and_others_kept(settings):
    settings.IP_BAN_FORGET_DAYS = 30
    IpBan.objects.create(ip="203.0.113.1", reason="r", expires_at=days_ago(31))  # ended long ago
    IpBan.objects.create(ip="203.0.113.2", reason="r", expires_at=days_ago(29), ban_count=2)  # ended recently
    IpBan.objects.create(ip="203.0.113.3", reason="r", expires_at=days_ago(-1))  # active
    IpBan.objects.create(ip="203.0.113.4", reason="r", expires_at=None, is_permanent=True, banned_at=days_ago(900))
    assert tasks.forget_ended_ip_bans().startswith("housekeeping: 1 IP bans ended over 30 days ago forgotten")
    assert set(IpBan.objects.values_list("ip", flat=True)) == {"203.0.113.2", "203.0.113.3", "203.0.113.4"}


def test_forgetting_bans_can_be_turned_off(settings):
    settings.IP_BAN_FORGET_DAYS = 0
    IpBan.objects.create(ip="203.0.113.1", reason="r", expires_at=days_ago(400))
    tasks.forget_ended_ip_bans()
    assert IpBan.objects.count() == 1


def test_trackers_of_past_days_are_reset_and_todays_kept():
    today = timezone.localdate()
    for model in (NotFoundTracker, InvalidKeyTracker):
        model.objects.using(logs_db()).create(ip="203.0.113.5", day=today - timedelta(days=1), count=40)
        model.objects.using(logs_db()).create(ip="203.0.113.5", day=today, count=3)
    assert tasks.reset_ban_trackers().startswith("housekeeping: 2 IP-ban tracker rows of past days deleted")
    for model in (NotFoundTracker, InvalidKeyTracker):
        assert list(model.objects.using(logs_db()).values_list("day", "count")) == [(today, 3)]


def test_expired_api_keys_are_deactivated_and_forgotten_by_the_cache():
    user = UserFactory()
    expired, raw = apikeys.create_key(user, "old", expires_at=timezone.now() + timedelta(seconds=60))
    assert apikeys.verify(raw) is not None  # cached now
    apikeys.create_key(user, "live", expires_at=timezone.now() + timedelta(days=1))
    apikeys.create_key(user, "forever")
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=days_ago(1))

    assert tasks.deactivate_expired_api_keys().startswith("housekeeping: 1 expired API keys deactivated")
    assert dict(ApiKey.objects.values_list("name", "is_active")) == {"old": False, "live": True, "forever": True}
    assert cache.get(apikeys.cache_key(raw)) is None
    assert user.activity.filter(action="apikey_changed", details__reason="expired").count() == 1
    assert tasks.deactivate_expired_api_keys().startswith("housekeeping: 0 expired API keys deactivated")


def test_task_results_older_than_a_week_are_deleted(settings):
    settings.TASK_RESULT_KEEP_DAYS = 7
    TaskResult.objects.create(task_id="old", status="SUCCESS", date_done=days_ago(8))
    TaskResult.objects.create(task_id="new", status="SUCCESS", date_done=days_ago(6))
    TaskResult.objects.filter(task_id="old").update(date_done=days_ago(8))  # date_done is auto_now
    TaskResult.objects.filter(task_id="new").update(date_done=days_ago(6))
    assert tasks.delete_old_task_results().startswith("housekeeping: 1 Celery task results older than 7 days deleted")
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["new"]


def test_every_housekeeping_job_has_a_daily_or_hourly_periodic_task():
    from django_celery_beat.models import PeriodicTask

    from maintenance.services.schedules import HOUSEKEEPING

    found = {t.task: t for t in PeriodicTask.objects.filter(task__startswith="maintenance.tasks.")}
    for _, task, _ in HOUSEKEEPING:
        assert found[task].enabled
        assert found[task].crontab.timezone.key == "Asia/Kolkata"
        assert callable(getattr(tasks, task.rsplit(".", 1)[1]))
