"""Trading accounts (encrypted credentials), broker adapters, instruments, connection health, failover."""
from django.apps import AppConfig


class BrokersConfig(AppConfig):
    name = "brokers"
    verbose_name = "Brokers"
