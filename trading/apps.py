"""Orders, trades, positions, holdings, order events, the action center, the market calendar and the order pipeline."""
from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"
