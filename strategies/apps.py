"""Strategies, symbol mappings, deployments, webhooks and strategy performance."""
from django.apps import AppConfig


class StrategiesConfig(AppConfig):
    name = "strategies"
    verbose_name = "Strategies"

    def ready(self) -> None:
        # The square-off beat rows follow their strategies; the scheduled jobs' tasks register with Celery.
        from strategies import jobs, receivers  # noqa: F401
