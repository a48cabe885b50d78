"""Keeping live accounts' orders current: poll the broker's order book, book new fills, expire requests.

Fills are claimed with a compare-and-swap on filled_quantity, so two overlapping sync runs cannot
book the same fill twice. Each account is synced on its own; one broker's fault does not stop others.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from brokers.adapters.base import BrokerError
from brokers.models import TradingAccount
from brokers.services.accounts import adapter_for
from trading.models import OPEN_STATUSES, EventLevel, Order, PendingOrder, PendingStatus
from trading.services import records

log = logging.getLogger(__name__)
BATCH = 500
ZERO = Decimal("0")


def accounts_with_open_orders() -> list[int]:
    return list(Order.objects.filter(status__in=OPEN_STATUSES, account__isnull=False).exclude(broker_order_id="")
                .values_list("account_id", flat=True).distinct())


def sync_account(account_id: int) -> int:
    """Refresh one account's open orders from its broker; returns how many changed."""
    account = TradingAccount.objects.get(pk=account_id)
    orders = list(Order.objects.filter(account_id=account_id, status__in=OPEN_STATUSES)
                  .exclude(broker_order_id="").order_by("id")[:BATCH])
    if not orders:
        return 0
    book = {info.broker_order_id: info for info in adapter_for(account).order_book()}
    changed = 0
    for order in orders:
        info = book.get(order.broker_order_id)
        if info is None:
            continue
        filled_before, avg_before = order.filled_quantity, order.average_price
        if not records.apply_info(order, info):
            continue
        order.updated_at = timezone.now()
        fields = ["status", "filled_quantity", "average_price", "price", "quantity", "trigger_price",
                  "rejection_reason", "executed_at", "updated_at"]
        claimed = Order.objects.filter(pk=order.pk, filled_quantity=filled_before).update(
            **{name: getattr(order, name) for name in fields})
        if not claimed:
            continue  # another run got there first
        records.announce(order)
        changed += 1
        new = order.filled_quantity - filled_before
        if new > 0:
            price = (order.average_price * order.filled_quantity - avg_before * filled_before) / new
            records.record_fill(order, new, price.quantize(Decimal("0.0001")))
        records.event(order, f"Broker reports {order.get_status_display().lower()}",
                      EventLevel.WARNING if order.status == "REJECTED" else EventLevel.INFO,
                      filled=str(order.filled_quantity))
    return changed


def sync_all() -> tuple[int, int, int]:
    """(accounts synced, orders changed, accounts that failed)."""
    synced = changed = failed = 0
    for account_id in accounts_with_open_orders():
        try:
            changed += sync_account(account_id)
            synced += 1
        except BrokerError as exc:
            failed += 1
            log.warning("order sync of account %s failed: %s", account_id, exc.message)
    return synced, changed, failed


def expire_pending(max_age: timedelta = timedelta(hours=24)) -> int:
    """Reject action-center requests nobody decided on in time (an order approved days later is a surprise)."""
    cutoff = timezone.now() - max_age
    return PendingOrder.objects.filter(status=PendingStatus.PENDING, created_at__lt=cutoff).update(
        status=PendingStatus.REJECTED, decided_at=timezone.now(), error="Expired: not decided in time.")
