"""Resetting a sandbox: its orders, trades, positions and holdings go; funds return to the configured
capital. The ledger and daily snapshots stay as history; a RESET ledger row starts the new balance.

The user's analyze-mode orders in the trading book (trading.Order, the record of what they sent) stay
as history too, but none may still say it is working: the sandbox order it stood for is gone. Those
still open are closed (cancelled, or the sandbox's own final state), each with an order event, in the
same transaction as the reset itself.
"""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sandbox.models import LedgerKind, SandboxHolding, SandboxOrder, SandboxPosition, SandboxTrade
from sandbox.services import tradebook
from sandbox.services.config import get_config
from sandbox.services.funds import lock_funds, write_ledger
from sandbox.services.money import ZERO
from trading.models import OrderStatus

RESET_CANCEL_MESSAGE = "Cancelled by a sandbox reset: the sandbox order book was emptied."


def reset_user(user_id: int) -> None:
    capital = get_config().starting_capital
    with transaction.atomic():
        funds = lock_funds(user_id)
        close_book_orders(user_id, timezone.now())
        SandboxTrade.objects.filter(user_id=user_id).delete()
        SandboxOrder.objects.filter(user_id=user_id).delete()
        SandboxPosition.objects.filter(user_id=user_id).delete()
        SandboxHolding.objects.filter(user_id=user_id).delete()
        funds.starting_capital = funds.available = capital
        funds.used_margin = funds.realized_pnl = funds.today_realized_pnl = funds.unrealized_pnl = ZERO
        funds.last_reset_at = timezone.now()
        funds.save()
        write_ledger(funds, LedgerKind.RESET, capital, note="Sandbox reset")


def close_book_orders(user_id: int, now: datetime) -> int:
    """Close the user's analyze-mode orders in the trading book that still say open; returns how many.

    Each takes its sandbox order's last state when that was final (complete, cancelled, rejected: the
    book had not caught up), else CANCELLED with what had filled so far (tradebook.book_status, the one
    mapping); each gets an order event. Called inside the reset's transaction, before the sandbox's
    orders are deleted and after its funds are locked: an order placed meanwhile waits for that lock,
    so it is closed here or placed afresh.
    """
    rows = tradebook.open_rows(user_id)
    if not rows:
        return 0
    in_sandbox = {o.order_id: o for o in SandboxOrder.objects.filter(
        user_id=user_id, order_id__in=[row.broker_order_id for row in rows if row.broker_order_id])}
    return tradebook.write(rows, in_sandbox, reason="sandbox_reset", why="reset", now=now, closing=True,
                           message=_reset_message)


def _reset_message(row, status) -> str:
    if status == OrderStatus.CANCELLED:
        return RESET_CANCEL_MESSAGE
    return f"Closed by a sandbox reset as the sandbox last had it: {status.label.lower()}."


def reset_all(batch: int = 200) -> int:
    """Reset every sandbox (the weekly reset), one transaction per user."""
    from sandbox.models import SandboxFunds

    count = 0
    last = 0
    while True:
        ids = list(SandboxFunds.objects.filter(user_id__gt=last).order_by("user_id")
                   .values_list("user_id", flat=True)[:batch])
        if not ids:
            return count
        for user_id in ids:
            reset_user(user_id)
            count += 1
        last = ids[-1]
