"""Trading accounts (encrypted credentials), broker adapters, instruments, connection health, failover."""
from django.apps import AppConfig


class BrokersConfig(AppConfig):
    name = "brokers"
    verbose_name = "Brokers"

    def ready(self) -> None:
        from brokers import signals  # noqa: F401  (connects the cache invalidation receivers)
