"""Seed the Celery beat schedule of the trading accounts' health check (and failover), editable in the
admin afterwards. The interval comes from BROKER_HEALTH_CHECK_SECONDS when the migration runs."""
from django.conf import settings
from django.db import migrations

NAME = "brokers: health check of trading accounts (failover and fail-back)"
TASK = "brokers.tasks.health_check"


def forwards(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    seconds = max(1, round(settings.BROKER_HEALTH_CHECK_SECONDS))
    every, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
    task_model.objects.get_or_create(name=NAME, defaults={"task": TASK, "interval": every, "enabled": True})


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("brokers", "0002_failover_health_egress"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
