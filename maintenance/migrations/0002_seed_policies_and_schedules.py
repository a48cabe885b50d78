"""Seed a retention policy per registered target (its defaults) with its nightly periodic task, and the
housekeeping tasks (Asia/Kolkata times), all editable in the admin. Targets registered later get theirs
on the next migrate (maintenance.signals)."""
from django.db import migrations


def forwards(apps, schema_editor):
    from maintenance.services.schedules import ensure_policies

    ensure_policies(apps, using=schema_editor.connection.alias)


def backwards(apps, schema_editor):
    from maintenance.services.schedules import HOUSEKEEPING

    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    task_model.objects.filter(name__startswith="retention: ").delete()
    task_model.objects.filter(name__in=[name for name, _, _ in HOUSEKEEPING]).delete()
    apps.get_model("maintenance", "RetentionPolicy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("maintenance", "0001_retention_policies"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
