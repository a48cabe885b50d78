"""Writing the books: order rows, their events, and fills of live accounts into trades and positions.

Every write here is short and makes no broker call: the pipeline inserts the PENDING order, calls
the broker outside any transaction, then records the answer. Position changes lock the position row
(select_for_update) so two fills of the same instrument cannot lose an update.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, router, transaction
from django.utils import timezone

from brokers.adapters.base import OrderInfo, OrderResult
from core import sql
from trading.models import (
    Action,
    EventLevel,
    Order,
    OrderEvent,
    OrderStatus,
    Position,
    PositionEvent,
    PositionHistory,
    Trade,
)
from trading.signals import orders_changed

ZERO = Decimal("0")
# TextChoices.values builds a new list on each access. UNKNOWN is ours (a lost answer), never a broker's word
# for an order it holds: a broker's "unknown" is kept OPEN and polled, like any word we do not know.
ORDER_STATUSES = frozenset(OrderStatus.values) - {OrderStatus.UNKNOWN.value}
_MS = Decimal("0.001")


def ms(seconds: float) -> Decimal:
    return Decimal(seconds * 1000).quantize(_MS)


_ALIASES = {"CANCELED": OrderStatus.CANCELLED, "FILLED": OrderStatus.COMPLETE, "EXECUTED": OrderStatus.COMPLETE,
            "PARTIAL": OrderStatus.PARTIALLY_FILLED}


def status_of(value: str, filled_quantity: Decimal | None = None) -> OrderStatus:
    """A broker's status (OrderStatus values, or OpenAlgo's lower-case words) as an OrderStatus: the
    one mapping, used for remote brokers and the sandbox alike (sandbox.services.tradebook). An open
    order with a fill is PARTIALLY_FILLED, whatever word the broker uses for it."""
    normal = (value or "").strip().upper().replace(" ", "_").replace("-", "_")
    status = OrderStatus(normal) if normal in ORDER_STATUSES else _ALIASES.get(normal, OrderStatus.OPEN)
    if status == OrderStatus.OPEN and filled_quantity:
        return OrderStatus.PARTIALLY_FILLED
    return status


def announce(*orders: Order) -> None:
    """Tell listeners (the real-time feed) that these orders were recorded or changed state."""
    orders_changed.send(sender=Order, orders=orders)


def insert(order: Order) -> Order | None:
    """Insert a new order row. With a client_order_id, return None if the user already has that id."""
    if not order.client_order_id:
        order.save(force_insert=True)
        announce(order)
        return order
    try:
        if transaction.get_connection(router.db_for_write(Order)).in_atomic_block:
            with transaction.atomic():  # a savepoint, so the unique violation does not poison the transaction
                order.save(force_insert=True)
        else:
            order.save(force_insert=True)  # autocommit: one statement, nothing to roll back
    except IntegrityError:
        return None
    announce(order)
    return order


def _event_rows(order: Order, events: list[tuple[str, str, dict[str, Any]]]) -> list[OrderEvent]:
    now = timezone.now()
    return [OrderEvent(order=order, level=level, message=message[:500], data=data, created_at=now)
            for level, message, data in events]


def add_events(order: Order, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """The order's events, in one multi-row INSERT."""
    if events:
        OrderEvent.objects.bulk_create(_event_rows(order, events))


def insert_with_events(order: Order, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Insert a new order with its events: one statement on PostgreSQL (core.sql)."""
    sql.write([sql.Insert([order]), sql.Insert(_event_rows(order, events))])
    announce(order)


def event(order: Order, message: str, level: str = EventLevel.INFO, **data: Any) -> OrderEvent:
    return OrderEvent.objects.create(order=order, level=level, message=message[:500], data=data)


def apply_result(order: Order, result: OrderResult) -> list[str]:
    """Copy a broker's answer onto the in-memory order; returns the changed field names."""
    order.broker_order_id = result.broker_order_id or order.broker_order_id
    order.status = status_of(result.status, result.filled_quantity)
    order.filled_quantity = result.filled_quantity or ZERO
    if result.average_price:
        order.average_price = result.average_price
    if order.status == OrderStatus.REJECTED:
        order.rejection_reason = result.message or order.rejection_reason or "Rejected by the broker."
    if order.status == OrderStatus.COMPLETE and order.executed_at is None:
        order.executed_at = timezone.now()
    return ["broker_order_id", "status", "filled_quantity", "average_price", "rejection_reason", "executed_at"]


def apply_info(order: Order, info: OrderInfo) -> bool:
    """Refresh an order from the broker's order book entry. Returns True when something changed."""
    before = (order.status, order.filled_quantity, order.average_price, order.price, order.quantity)
    order.status = status_of(info.status, info.filled_quantity)
    order.filled_quantity = info.filled_quantity or order.filled_quantity
    order.average_price = info.average_price or order.average_price
    order.price, order.quantity = info.price, info.quantity or order.quantity
    order.trigger_price = info.trigger_price
    if info.rejection_reason:
        order.rejection_reason = info.rejection_reason
    if order.status == OrderStatus.COMPLETE and order.executed_at is None:
        order.executed_at = info.timestamp or timezone.now()
    return before != (order.status, order.filled_quantity, order.average_price, order.price, order.quantity)


def save_fields(order: Order, fields: list[str]) -> None:
    """One UPDATE of the named fields (and updated_at), without re-reading the row."""
    order.updated_at = timezone.now()
    Order.objects.filter(pk=order.pk).update(**{name: getattr(order, name) for name in [*fields, "updated_at"]})
    announce(order)


# --- Fills of live accounts -------------------------------------------------------------------------
def record_fill(order: Order, quantity: Decimal, price: Decimal, trade_id: str = "") -> Trade | None:
    """Book a fill of a live account's order: a Trade, and the position change with its history.

    Sandbox orders are skipped: the sandbox keeps its own trade book and positions.
    """
    if order.account_id is None or quantity <= 0:
        return None
    with transaction.atomic():
        trade = Trade.objects.create(
            order=order, user_id=order.user_id, account_id=order.account_id, broker_trade_id=trade_id,
            exchange=order.exchange, symbol=order.symbol, action=order.action, product=order.product,
            quantity=quantity, price=price)
        position, _ = Position.objects.select_for_update().get_or_create(
            user_id=order.user_id, account_id=order.account_id, exchange=order.exchange, symbol=order.symbol,
            product=order.product)
        signed = quantity if order.action == Action.BUY else -quantity
        kind, realized = apply_fill(position, signed, price)
        position.save()
        PositionHistory.objects.create(
            position=position, order=order, event=kind, quantity=signed, price=price,
            net_quantity_after=position.net_quantity, average_price_after=position.average_price,
            realized_pnl=realized)
    return trade


def apply_fill(position: Position, signed: Decimal, price: Decimal) -> tuple[str, Decimal]:
    """Move a position by a signed fill; returns the kind of change and the P&L it realized."""
    net, avg = position.net_quantity, position.average_price
    if signed > 0:
        position.buy_quantity += signed
        position.buy_value += signed * price
    else:
        position.sell_quantity += -signed
        position.sell_value += -signed * price
    realized = ZERO
    new_net = net + signed
    if net == 0:
        kind, avg = PositionEvent.OPEN, price
        position.opened_at = timezone.now()
    elif (net > 0) == (signed > 0):
        kind = PositionEvent.INCREASE
        avg = (avg * abs(net) + price * abs(signed)) / abs(new_net)
    else:
        closed = min(abs(net), abs(signed))
        realized = (price - avg) * closed * (1 if net > 0 else -1)
        if new_net == 0:
            kind = PositionEvent.CLOSE
            avg = ZERO
        elif (new_net > 0) != (net > 0):
            kind, avg = PositionEvent.REVERSE, price
        else:
            kind = PositionEvent.DECREASE
    position.net_quantity = new_net
    position.average_price = avg.quantize(Decimal("0.0001"))
    position.realized_pnl = (position.realized_pnl + realized).quantize(Decimal("0.01"))
    if position.ltp:
        position.unrealized_pnl = ((position.ltp - position.average_price) * new_net).quantize(Decimal("0.01"))
    return kind, realized.quantize(Decimal("0.01"))
