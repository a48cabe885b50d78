"""Resetting a sandbox: its orders, trades, positions and holdings go; funds return to the configured
capital. The ledger and daily snapshots stay as history; a RESET ledger row starts the new balance."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from sandbox.models import LedgerKind, SandboxHolding, SandboxOrder, SandboxPosition, SandboxTrade
from sandbox.services.config import get_config
from sandbox.services.funds import lock_funds, write_ledger
from sandbox.services.money import ZERO


def reset_user(user_id: int) -> None:
    capital = get_config().starting_capital
    with transaction.atomic():
        funds = lock_funds(user_id)
        SandboxTrade.objects.filter(user_id=user_id).delete()
        SandboxOrder.objects.filter(user_id=user_id).delete()
        SandboxPosition.objects.filter(user_id=user_id).delete()
        SandboxHolding.objects.filter(user_id=user_id).delete()
        funds.starting_capital = funds.available = capital
        funds.used_margin = funds.realized_pnl = funds.today_realized_pnl = funds.unrealized_pnl = ZERO
        funds.last_reset_at = timezone.now()
        funds.save()
        write_ledger(funds, LedgerKind.RESET, capital, note="Sandbox reset")


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
