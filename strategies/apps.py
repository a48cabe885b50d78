"""Strategies, symbol mappings, deployments, webhooks and strategy performance."""
from django.apps import AppConfig


class StrategiesConfig(AppConfig):
    name = "strategies"
    verbose_name = "Strategies"
