"""Seed the sandbox configuration row and its Celery beat schedules (Asia/Kolkata), editable in the admin."""
import datetime as dt

from django.db import migrations


def forwards(apps, schema_editor):
    from sandbox.services.schedules import schedules, seed

    config_model = apps.get_model("sandbox", "SandboxConfig")
    if not config_model.objects.filter(pk=1).exists():
        from sandbox.models.config import _default_capital

        config_model.objects.create(pk=1, starting_capital=_default_capital())
    squareoff = {"NSE": dt.time(15, 15), "CDS": dt.time(16, 45), "MCX": dt.time(23, 30), "NCDEX": dt.time(17, 0)}
    seed(apps.get_model("django_celery_beat", "CrontabSchedule"), apps.get_model("django_celery_beat", "PeriodicTask"),
         schedules(squareoff, 0, dt.time(0, 0), False))


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__startswith="sandbox: ").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
