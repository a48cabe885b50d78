"""Seed the strategies' beat rows (risk monitor, daily performance) and a square-off row for each existing
intraday strategy; all editable in the admin under Periodic tasks."""
from django.db import migrations


def forwards(apps, schema_editor):
    from strategies.services.schedules import seed_fixed, sync_square_off

    crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    task = apps.get_model("django_celery_beat", "PeriodicTask")
    seed_fixed(apps.get_model("django_celery_beat", "IntervalSchedule"), crontab, task)
    for strategy in apps.get_model("strategies", "Strategy").objects.filter(is_intraday=True, is_active=True):
        sync_square_off(strategy, crontab, task)


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__startswith="strategies: ").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("strategies", "0001_initial"),
        ("trading", "0010_order_placed_latency_index"),  # the market calendar gives each exchange's zone
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
