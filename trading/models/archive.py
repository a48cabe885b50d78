"""Orders and trades past the retention window (maintenance's "trading.orders" policy), moved here.

They live in trading because they are trading's books: the same columns as Order and Trade
(core.archive), read by the same people, migrated with them. The maintenance app only moves rows.
"""
from __future__ import annotations

from django.db import models

from core.archive import archive_model
from trading.models.orders import Order, Trade

__all__ = ["OrderArchive", "TradeArchive"]

OrderArchive = archive_model(
    Order, "OrderArchive", module=__name__,
    doc="An order older than the retention window, with the columns it had (ids kept; no foreign keys).",
    # An operator's look-up of a user's old orders by time.
    indexes=[models.Index(fields=["user_id", "placed_at"], name="orderarchive_user_placed")],
)

TradeArchive = archive_model(
    Trade, "TradeArchive", module=__name__,
    doc="A fill of an archived order, with the columns it had (ids kept; no foreign keys).",
    # The fills of one archived order.
    indexes=[models.Index(fields=["order_id"], name="tradearchive_order")],
)
