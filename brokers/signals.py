"""Keep the cached instrument look-ups right when instruments change outside an import (the admin)."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from brokers.models import Instrument
from brokers.services.instruments import invalidate_cache


@receiver([post_save, post_delete], sender=Instrument, dispatch_uid="brokers_instrument_changed")
def instrument_changed(sender: type, **kwargs: Any) -> None:
    transaction.on_commit(invalidate_cache)
