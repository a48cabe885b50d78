"""The events other processes publish to the feed (feed.bus): a stored price, a changed order.

Built in the writer's process from what it holds in memory, so publishing adds no query to the order
path or the price store; numbers travel as strings (Decimal, exact) and become JSON numbers at the edge.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings

from sandbox.services.prices import PriceQuote
from trading.models import OPEN_STATUSES, Order, OrderKind, OrderStatus
from trading.openalgo_api.shapes import OPENALGO_STATUS, money, qty

#: The order fields an order update reads (loaded in one query when a writer deferred some of them).
ORDER_FIELDS = ("user_id", "account_id", "is_analyze", "kind", "broker_order_id", "exchange", "symbol", "action",
                "quantity", "price", "trigger_price", "price_type", "product", "status", "filled_quantity",
                "average_price", "rejection_reason", "updated_at")


def tick(quote: PriceQuote) -> dict[str, Any]:
    at = quote.updated_at
    return {"k": "tick", "ex": quote.exchange, "sym": quote.symbol, "ltp": str(quote.ltp), "bid": str(quote.bid),
            "ask": str(quote.ask), "bq": quote.bid_qty, "aq": quote.ask_qty, "o": str(quote.open),
            "h": str(quote.high), "l": str(quote.low), "pc": str(quote.prev_close), "v": quote.volume,
            "t": int(at.timestamp() * 1000) if at else 0}


def order_payload(row: dict[str, Any], pk: int) -> dict[str, Any]:
    """OpenAlgo's order_update fields (without "type" and "broker", which the feed adds)."""
    status = row["status"]
    quantity, filled = row["quantity"], row["filled_quantity"]
    return {
        "orderid": row["broker_order_id"] or f"{settings.ORDER_REFERENCE_PREFIX}-{pk}",
        "symbol": row["symbol"], "exchange": row["exchange"], "action": row["action"],
        "quantity": qty(quantity), "price": money(row["price"]), "trigger_price": money(row["trigger_price"]),
        "pricetype": row["price_type"], "product": row["product"],
        "order_status": OPENALGO_STATUS.get(status, str(status).lower()),
        "filled_quantity": qty(filled),
        "pending_quantity": qty(max(quantity - filled, 0)) if status in OPEN_STATUSES else 0,
        "average_price": money(row["average_price"]), "rejection_reason": row["rejection_reason"] or "",
        "mode": "analyze" if row["is_analyze"] else "live",
        "timestamp": row["updated_at"].isoformat() if row["updated_at"] else "",
    }


def order_events(orders: Iterable[Order]) -> list[dict[str, Any]]:
    """One event per order a client should hear of: orders at a broker (not yet-unsent PENDING rows, not the
    containers of split and basket orders). Deferred fields are read in one query for the whole batch."""
    orders = list(orders)
    missing = [o.pk for o in orders if o.pk is not None and o.get_deferred_fields() & set(ORDER_FIELDS)]
    loaded = {row["pk"]: row for row in Order.objects.filter(pk__in=missing).values("pk", *ORDER_FIELDS)} \
        if missing else {}
    events = []
    for order in orders:
        row = loaded.get(order.pk) or {name: getattr(order, name) for name in ORDER_FIELDS}
        if row["kind"] != OrderKind.ORDER or row["status"] in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
            continue
        events.append({"k": "order", "uid": row["user_id"], "aid": row["account_id"], "analyze": row["is_analyze"],
                       "o": order_payload(row, order.pk)})
    return events
