"""Scheduled upkeep of the other apps' tables: retention (archive, then delete) and housekeeping."""
from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    name = "maintenance"
    verbose_name = "Maintenance"

    def ready(self) -> None:
        from maintenance import signals  # noqa: F401
