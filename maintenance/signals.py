"""A policy's periodic task follows it: created with it, enabled and disabled with it, removed with it."""
from __future__ import annotations

from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from maintenance.models import RetentionPolicy


@receiver(post_save, sender=RetentionPolicy)
def _sync_schedule(sender, instance: RetentionPolicy, raw: bool = False, **kwargs) -> None:
    if not raw:
        from maintenance.services.schedules import sync_policy_schedule

        sync_policy_schedule(instance)


@receiver(post_delete, sender=RetentionPolicy)
def _drop_schedule(sender, instance: RetentionPolicy, **kwargs) -> None:
    from django_celery_beat.models import PeriodicTask

    if instance.schedule_id:
        PeriodicTask.objects.filter(pk=instance.schedule_id).delete()


@receiver(post_migrate)
def _ensure_policies(sender, app_config=None, using: str = "default", **kwargs) -> None:
    """A target registered after the seeding migration gets its policy and schedule on the next migrate."""
    if app_config is None or app_config.label != "maintenance" or using != "default":
        return
    from maintenance.services.schedules import ensure_policies

    ensure_policies(using=using)
