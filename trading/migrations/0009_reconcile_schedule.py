"""Seed the Celery beat schedule that settles orders awaiting confirmation (editable in the admin)."""
from django.db import migrations

NAME = "trading: reconcile orders awaiting confirmation with their broker's order book"
TASK = "trading.tasks.reconcile_unknown_orders"
EVERY_SECONDS = 60


def forwards(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=EVERY_SECONDS, period="seconds")
    task_model.objects.get_or_create(name=NAME, defaults={"task": TASK, "interval": every, "enabled": True})


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0008_order_status_unknown"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
