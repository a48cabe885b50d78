"""The trading book follows the sandbox.

An analyze-mode order is two rows: the user's record in the trading book (trading.Order, is_analyze,
broker_order_id = the sandbox's order_id) and the sandbox's own order. When the sandbox changes its
order outside the trading pipeline (the matching job fills or rejects it, square-off or a cancel
cancels it, a modification fills it, a reset empties the book), the caller passes the changed sandbox
orders here, inside its own transaction: the trading book's rows take the sandbox's state with an
order event, in that same commit. An explicit call, not a signal: a queryset update() or a raw write
would skip a signal without a word.

Per batch: one SELECT ... FOR UPDATE of the trading rows, one UPDATE (bulk_update: a CASE per field;
SQLite splits it at its bound-parameter limit) and one multi-row INSERT of events. The sandbox's
state maps to the trading book's in one place, book_status().
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from sandbox.models import SandboxOrder
from trading.models import OPEN_STATUSES, EventLevel, Order, OrderEvent, OrderStatus
from trading.services.records import status_of
from trading.signals import orders_changed

FINAL = (OrderStatus.COMPLETE, OrderStatus.CANCELLED, OrderStatus.REJECTED)
FIELDS = ("status", "filled_quantity", "average_price", "executed_at", "rejection_reason", "updated_at")


def book_status(order: SandboxOrder | None, *, closing: bool = False) -> OrderStatus:
    """The trading book's status for a sandbox order: records.status_of, the one mapping of a broker's
    word (a resting order with a fill is PARTIALLY_FILLED). With `closing` (a reset: the sandbox order
    goes), an order gone or still working is CANCELLED."""
    if order is None:
        return OrderStatus.CANCELLED
    status = status_of(order.status, order.filled_quantity)
    if closing and status not in FINAL:
        return OrderStatus.CANCELLED
    return status


def _message(row: Order, status: OrderStatus, why: str) -> str:
    if status == OrderStatus.COMPLETE:
        return f"Filled in the sandbox ({why}): {row.filled_quantity.normalize():f} @ {row.average_price}."
    if status == OrderStatus.PARTIALLY_FILLED:
        return (f"Partly filled in the sandbox ({why}): {row.filled_quantity.normalize():f} of "
                f"{row.quantity.normalize():f} @ {row.average_price}.")
    if status == OrderStatus.CANCELLED:
        return f"Cancelled in the sandbox ({why})."
    if status == OrderStatus.REJECTED:
        return f"Rejected by the sandbox ({why}): {row.rejection_reason}"
    return f"{status.label} in the sandbox ({why})."


def write(rows: Iterable[Order], sandbox: dict[str, SandboxOrder], *, reason: str, why: str,
          now: datetime | None = None, closing: bool = False, message=None) -> int:
    """Bring locked trading rows to their sandbox orders' state (`sandbox` by order_id; a row whose
    sandbox order is missing is cancelled when `closing`). Rows already there are left alone. One
    UPDATE and one INSERT of events; returns the rows changed. `reason` goes in each event's data,
    `why` in its message; `message(row, status)` may word the event instead."""
    now = now or timezone.now()
    changed, events = [], []
    for row in rows:
        last = sandbox.get(row.broker_order_id)
        if last is None and not closing:
            continue
        status = book_status(last, closing=closing)
        filled = last.filled_quantity if last is not None and last.filled_quantity else row.filled_quantity
        if (row.status, row.filled_quantity) == (status, filled):
            continue
        row.status, row.filled_quantity, row.updated_at = status, filled, now
        if last is not None and last.filled_quantity:
            row.average_price = last.average_price
        if status == OrderStatus.COMPLETE and row.executed_at is None:
            row.executed_at = last.updated_at or now
        if status == OrderStatus.REJECTED:
            row.rejection_reason = last.rejection_reason or row.rejection_reason
        changed.append(row)
        text = message(row, status) if message else _message(row, status, why)
        events.append(OrderEvent(order=row, level=EventLevel.WARNING if status == OrderStatus.REJECTED
                                 else EventLevel.INFO, message=text[:500], created_at=now,
                                 data={"reason": reason, "status": str(status),
                                       "filled_quantity": str(row.filled_quantity)}))
    if changed:
        Order.objects.bulk_update(changed, FIELDS)
        OrderEvent.objects.bulk_create(events)
        orders_changed.send(sender=Order, orders=changed)
    return len(changed)


def open_rows(user_id: int, order_ids: Iterable[str] | None = None) -> list[Order]:
    """The user's analyze-mode trading rows still open, locked (those for `order_ids` only, if given)."""
    rows = Order.objects.select_for_update().filter(user_id=user_id, is_analyze=True, status__in=OPEN_STATUSES)
    if order_ids is not None:
        rows = rows.filter(broker_order_id__in=list(order_ids))
    # Also what listeners of orders_changed read (an order update: instrument, side, type), so no query follows.
    return list(rows.order_by("pk").only("pk", "broker_order_id", "quantity", "user_id", "account_id", "is_analyze",
                                         "kind", "exchange", "symbol", "action", "price", "trigger_price",
                                         "price_type", "product", *FIELDS))


def follow(user_id: int, orders: Iterable[SandboxOrder], *, reason: str, why: str) -> int:
    """The trading book takes these sandbox orders' state (all the user's): call in the transaction
    that changed them, under the user's funds lock. Three statements at most; returns rows changed."""
    by_id = {order.order_id: order for order in orders}
    if not by_id:
        return 0
    return write(open_rows(user_id, by_id), by_id, reason=reason, why=why)
