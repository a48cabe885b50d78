"""The Heartbeat table and the beat schedule that writes it every minute (editable in the admin)."""

from django.db import migrations, models

from core import beat

NAME = "analytics: heartbeat"  # analytics.tasks.HEARTBEAT_TASK
TASK = "analytics.tasks.heartbeat"
EVERY_SECONDS = 60


def seed_schedule(apps, schema_editor):
    beat.seed_every(apps, NAME, TASK, EVERY_SECONDS,
                    description="Tells the operators' dashboard that beat and a worker are alive.")


def drop_schedule(apps, schema_editor):
    beat.drop(apps, NAME)


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0003_log_archives'),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name='Heartbeat',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=32, unique=True)),
                ('seen_at', models.DateTimeField()),
                ('detail', models.CharField(blank=True, help_text="The worker's host name.", max_length=200)),
            ],
        ),
        migrations.RunPython(seed_schedule, drop_schedule),
    ]
