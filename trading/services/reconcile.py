"""Settling orders whose broker answer was lost: UNKNOWN ("awaiting confirmation") -> the broker's state.

A timeout after the request left (a BrokerError with data["sent"]) leaves an order that may or may not
exist at the broker. It is not counted as open, a repeat of its client_order_id is answered at once
(409), and this module settles it against the broker's order book, read once per account and run,
outside any transaction:

- by reference: every order carries `reference()` ("AD-42") to its broker; the OpenAlgo adapter puts
  it in brackets after the user's strategy tag ("breakout [AD-42]"). When the book's rows carry tags,
  a tagged row matches only the order whose reference it names.
- by its fields, when the book carries no tags (OpenAlgo's own order book does not echo `strategy`):
  the same exchange, symbol, side, quantity, product, price type (and price for a priced order),
  placed within MATCH_SLACK of ours, whose broker id no other order of the account holds. The oldest
  such row goes to the oldest waiting order, so two identical lost orders take two rows.
- a match takes the broker's id and state, and its fill is booked as the status sync books fills;
  from then on the sync keeps it current like any open order.
- an order still not found once it is older than ORDER_RECONCILE_WINDOW_MINUTES is REJECTED with the
  reason: the broker never took it. A book that cannot be read gives nothing up: its orders wait.

Every outcome is an order event. Each claim is a compare-and-swap on the UNKNOWN status, so the
schedule (trading.tasks.reconcile_unknown_orders) and a hand run (`manage.py reconcile_orders`)
settle an order once.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from brokers.adapters.base import BrokerError, OrderInfo
from brokers.models import TradingAccount
from brokers.services.accounts import adapter_for
from trading.models import EventLevel, Order, OrderStatus, PriceType
from trading.services import records

log = logging.getLogger(__name__)

BATCH = 500
#: How far a broker's timestamp may sit from our placed_at (clock skew, the broker's queue, a read
#: timeout) and still be taken for the same order when matching by fields.
MATCH_SLACK = timedelta(minutes=2)
_REFERENCE_IN_TAG = re.compile(r"\[([A-Za-z0-9]+-\d+)\]\s*$")
_UPDATED = ["broker_order_id", "status", "filled_quantity", "average_price", "price", "quantity", "trigger_price",
            "rejection_reason", "executed_at", "updated_at"]


def reference(order: Order) -> str:
    """The order's reference at its broker (its idempotency key there): the prefix and the order's id."""
    return f"{settings.ORDER_REFERENCE_PREFIX}-{order.pk}"


def awaiting_message(order: Order) -> str:
    return (f"Order {order.pk} (reference {reference(order)}) got no answer from the broker and may have reached "
            "it: it is awaiting confirmation from the broker's order book (checked every minute) and will not be "
            f"placed again. Its state: /api/orders/{order.pk}/; do not repeat it.")


def window() -> timedelta:
    return timedelta(minutes=settings.ORDER_RECONCILE_WINDOW_MINUTES)


@dataclass
class Summary:
    accounts: int = 0
    matched: int = 0
    rejected: int = 0
    waiting: int = 0
    failed: int = 0  # accounts whose order book could not be read

    def add(self, other: Summary) -> None:
        for name in ("accounts", "matched", "rejected", "waiting", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self) -> str:
        return (f"{self.accounts} account(s): {self.matched} order(s) matched, {self.rejected} rejected, "
                f"{self.waiting} still awaiting confirmation, {self.failed} order book(s) unreadable")


def accounts_awaiting() -> list[int]:
    """Accounts with orders awaiting confirmation (served by the partial index order_unknown_by_account)."""
    return list(Order.objects.filter(status=OrderStatus.UNKNOWN, account__isnull=False)
                .values_list("account_id", flat=True).distinct().order_by("account_id"))


def reconcile_all(*, now: datetime | None = None) -> Summary:
    """Every account with orders awaiting confirmation; one account's fault never stops the others."""
    summary = Summary()
    for account_id in accounts_awaiting():
        try:
            summary.add(reconcile_account(account_id, now=now))
        except Exception:
            log.exception("reconcile: account %s failed", account_id)
            summary.add(Summary(accounts=1, failed=1))
    return summary


def reconcile_account(account_id: int, *, now: datetime | None = None) -> Summary:
    """Settle one account's orders awaiting confirmation against one read of its broker's order book."""
    summary = Summary(accounts=1)
    orders = list(Order.objects.filter(account_id=account_id, status=OrderStatus.UNKNOWN)
                  .order_by("placed_at", "id")[:BATCH])
    if not orders:
        return summary
    try:
        book = adapter_for(TradingAccount.objects.get(pk=account_id)).order_book()
    except BrokerError as exc:
        log.warning("reconcile: the order book of account %s could not be read: %s", account_id, exc.message)
        summary.failed, summary.waiting = 1, len(orders)
        return summary
    # Broker ids our books already hold for this account can never be another order's.
    taken = set(Order.objects.filter(account_id=account_id, broker_order_id__in=[i.broker_order_id for i in book])
                .values_list("broker_order_id", flat=True))
    now = now or timezone.now()
    for order in orders:
        info, how = find(order, book, taken)
        if info is not None:
            taken.add(info.broker_order_id)
            summary.matched += settle(order, info, how)
        elif order.placed_at < now - window():
            summary.rejected += give_up(order)
        else:
            summary.waiting += 1
    return summary


def find(order: Order, book: list[OrderInfo], taken: set[str]) -> tuple[OrderInfo | None, str]:
    """The broker's row of the order and how it was found ("reference" or "fields"), or (None, "")."""
    ref = reference(order)
    free = [info for info in book if info.broker_order_id and info.broker_order_id not in taken]
    for info in free:
        found = _REFERENCE_IN_TAG.search(info.tag)
        if found and found.group(1) == ref:
            return info, "reference"
    # A tagged row is someone else's (ours would name its reference); untagged rows are matched by fields.
    alike = [info for info in free if not info.tag and _same_order(order, info)]
    alike.sort(key=lambda info: (info.timestamp is None, info.timestamp or order.placed_at))
    return (alike[0], "fields") if alike else (None, "")


def _same_order(order: Order, info: OrderInfo) -> bool:
    if (info.exchange, info.symbol, info.action.upper()) != (order.exchange, order.symbol, order.action):
        return False
    if Decimal(info.quantity) != order.quantity:
        return False
    if info.product and info.product != order.product:
        return False
    if info.price_type and info.price_type != order.price_type:
        return False
    if order.price_type != PriceType.MARKET and info.price and info.price != order.price:
        return False
    return info.timestamp is None or abs(info.timestamp - order.placed_at) <= MATCH_SLACK


def settle(order: Order, info: OrderInfo, how: str) -> int:
    """Give the order the broker's id and state, record the event and book its fill; 1 if this run did."""
    order.broker_order_id = info.broker_order_id
    records.apply_info(order, info)
    order.updated_at = timezone.now()
    with transaction.atomic():
        claimed = Order.objects.filter(pk=order.pk, status=OrderStatus.UNKNOWN).update(
            **{name: getattr(order, name) for name in _UPDATED})
        if not claimed:
            return 0  # another run settled it first
        records.announce(order)
        level = EventLevel.WARNING if order.status == OrderStatus.REJECTED else EventLevel.INFO
        records.event(order, f"Confirmed from the broker's order book (matched by {how}): "
                             f"{order.get_status_display().lower()}, broker order id {order.broker_order_id}.",
                      level, orderid=order.broker_order_id, matched_by=how, reference=reference(order))
        if order.filled_quantity > 0:
            records.record_fill(order, order.filled_quantity, order.average_price)
    return 1


def give_up(order: Order) -> int:
    minutes = settings.ORDER_RECONCILE_WINDOW_MINUTES
    reason = (f"Not found in the broker's order book {minutes} minutes after its answer was lost: the broker did "
              "not take it.")
    with transaction.atomic():
        claimed = Order.objects.filter(pk=order.pk, status=OrderStatus.UNKNOWN).update(
            status=OrderStatus.REJECTED, rejection_reason=reason, updated_at=timezone.now())
        if not claimed:
            return 0
        order.status, order.rejection_reason = OrderStatus.REJECTED, reason
        records.announce(order)
        records.event(order, reason, EventLevel.WARNING, reference=reference(order))
    return 1
