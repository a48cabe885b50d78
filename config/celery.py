"""The Celery app: configured from Django settings (CELERY_*), tasks autodiscovered in each app."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("algodesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="config.ping")
def ping() -> str:
    """A no-op task for health checks and the end-to-end worker test."""
    return "pong"
