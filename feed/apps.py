"""The real-time feed: a WebSocket server speaking OpenAlgo's feed protocol (market data, order updates)."""
from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"
    verbose_name = "Real-time feed"

    def ready(self) -> None:
        from feed import receivers  # noqa: F401 - connects the receivers
