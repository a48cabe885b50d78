"""Where the logs live: the logs database when one is configured, else the default.

settings.DATABASES has a "logs" entry when LOGS_DATABASE_URL is set, and on the embedded default (a second
SQLite file under var/, so log writes never hold the orders' write lock); on PostgreSQL without
LOGS_DATABASE_URL the logs share the default database. LOG_MODELS are read, written and migrated there,
and nothing else is migrated there (the labels, not a class attribute: migrations see historical models).
"""
from __future__ import annotations

from django.conf import settings

LOG_MODELS = frozenset({"trafficlog", "apilog", "systemlog", "notfoundtracker", "invalidkeytracker",
                        # their archives (maintenance's retention), beside them
                        "trafficlogarchive", "apilogarchive", "systemlogarchive"})


def logs_db() -> str:
    """The alias the logs are written to."""
    return "logs" if "logs" in settings.DATABASES else "default"


def is_log_model(model) -> bool:
    """For a model class or instance (the router is handed both)."""
    meta = getattr(model, "_meta", None)
    return meta is not None and meta.app_label == "analytics" and meta.model_name in LOG_MODELS


class LogsRouter:
    def db_for_read(self, model, **hints):
        return logs_db() if is_log_model(model) else None

    def db_for_write(self, model, **hints):
        return logs_db() if is_log_model(model) else None

    def allow_relation(self, obj1, obj2, **hints):
        if is_log_model(obj1) or is_log_model(obj2):
            return is_log_model(obj1) == is_log_model(obj2)
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        target = logs_db()
        if target == "default":
            return None  # one database: everything migrates there as usual
        if app_label == "analytics" and model_name in LOG_MODELS:
            return db == target
        if db == target:
            return False  # the logs database holds the logs only
        return None
