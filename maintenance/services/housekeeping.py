"""Housekeeping of Django's and Celery's own tables: expired sessions, old task results."""
from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.utils import timezone

BATCH = 5000  # rows per DELETE, so a backlog never holds the table for long


def _delete_in_batches(queryset) -> int:
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return deleted
        deleted += queryset.model.objects.filter(pk__in=ids).delete()[0]


def clear_expired_sessions() -> int | None:
    """Delete sessions past their expiry. Returns how many, or None for a session engine that keeps no
    table (its own clear_expired() runs; signed-cookie sessions have nothing to clear)."""
    if settings.SESSION_ENGINE in ("django.contrib.sessions.backends.db",
                                   "django.contrib.sessions.backends.cached_db"):
        from django.contrib.sessions.models import Session

        return _delete_in_batches(Session.objects.filter(expire_date__lt=timezone.now()))
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return None


def delete_old_task_results(now=None) -> int:
    """Delete Celery task and group results finished more than TASK_RESULT_KEEP_DAYS ago (django-celery-results)."""
    from django_celery_results.models import GroupResult, TaskResult

    before = (now or timezone.now()) - timedelta(days=settings.TASK_RESULT_KEEP_DAYS)
    return (_delete_in_batches(TaskResult.objects.filter(date_done__lt=before))
            + _delete_in_batches(GroupResult.objects.filter(date_done__lt=before)))
