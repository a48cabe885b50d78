"""The feed listens to the sandbox's price store and trading's order book (signals point rightwards) and
publishes what changed once it is committed (a rolled-back price or order never reaches a client)."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver

from feed import bus, events
from sandbox.services.prices import price_stored
from trading.signals import orders_changed


@receiver(price_stored, dispatch_uid="feed_price_stored")
def publish_price(sender: Any, quote, **kwargs: Any) -> None:
    event = events.tick(quote)
    transaction.on_commit(lambda: bus.publish(event))


@receiver(orders_changed, dispatch_uid="feed_orders_changed")
def publish_orders(sender: Any, orders, **kwargs: Any) -> None:
    found = events.order_events(orders)
    if found:
        transaction.on_commit(lambda: [bus.publish(event) for event in found])
