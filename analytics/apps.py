"""Traffic and API logs, latency, IP bans, system logs, market data and dashboards."""
from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics import signals  # noqa: F401
