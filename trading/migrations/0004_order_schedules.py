"""Seed the Celery beat schedules of the order books (editable in the admin afterwards)."""
from django.db import migrations

TASKS = [
    # (name, task, seconds between runs)
    ("trading: sync live accounts' open orders", "trading.tasks.sync_open_orders", 60),
    ("trading: expire undecided action-center requests", "trading.tasks.expire_pending_orders", 3600),
]


def forwards(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds in TASKS:
        every, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        task_model.objects.get_or_create(name=name, defaults={"task": task, "interval": every, "enabled": True})


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[t[0] for t in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0003_orders"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
