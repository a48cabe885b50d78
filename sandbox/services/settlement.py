"""T+1 settlement: yesterday's delivery (CNC) buys move into holdings, with the cost they hold as
margin; flat positions of earlier days leave the positions book (their P&L is in the funds)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP

from django.db import transaction
from django.db.models import Q

from sandbox.models import Product, SandboxHolding, SandboxPosition
from sandbox.services.fills import AVG_PLACES
from sandbox.services.funds import lock_funds
from sandbox.services.money import IST, ZERO, ist_date, now


@dataclass
class SettlementResult:
    settled: int = 0
    purged: int = 0

    def __str__(self) -> str:
        return f"sandbox settlement: {self.settled} CNC positions into holdings, {self.purged} flat positions purged"


def _settle_one(pk: int, user_id: int, cutoff: dt.datetime, day: dt.date) -> bool:
    with transaction.atomic():
        lock_funds(user_id)
        # The filter is the claim: a concurrent or repeated run finds the position already flat.
        position = (SandboxPosition.objects.select_for_update()
                    .filter(pk=pk, product=Product.CNC, quantity__gt=0, last_fill_at__lt=cutoff).first())
        if position is None:
            return False
        holding = (SandboxHolding.objects.select_for_update()
                   .filter(user_id=user_id, exchange=position.exchange, symbol=position.symbol).first())
        if holding is None:
            holding = SandboxHolding(user_id=user_id, exchange=position.exchange, symbol=position.symbol,
                                     quantity=ZERO, average_price=ZERO, margin_blocked=ZERO, settled_on=day)
        total = holding.quantity + position.quantity
        holding.average_price = ((holding.quantity * holding.average_price + position.quantity
                                  * position.average_price) / total).quantize(AVG_PLACES, rounding=ROUND_HALF_UP)
        holding.quantity = total
        # The margin moves with the shares: used margin is unchanged, so no ledger row.
        holding.margin_blocked += position.margin_blocked
        holding.settled_on = day
        holding.save()
        position.quantity, position.average_price, position.margin_blocked = ZERO, ZERO, ZERO
        position.save(update_fields=["quantity", "average_price", "margin_blocked", "updated_at"])
    return True


def settle_cnc(*, at: dt.datetime | None = None, batch: int = 500) -> SettlementResult:
    """Settle CNC positions bought before today (IST) into holdings, in bounded batches."""
    day = ist_date(at or now())
    cutoff = dt.datetime.combine(day, dt.time.min, IST)
    result = SettlementResult()
    last_id = 0
    while True:
        rows = list(SandboxPosition.objects.filter(product=Product.CNC, quantity__gt=0, last_fill_at__lt=cutoff,
                                                   pk__gt=last_id).order_by("id").values_list("pk", "user_id")[:batch])
        if not rows:
            break
        for pk, user_id in rows:
            result.settled += _settle_one(pk, user_id, cutoff, day)
        last_id = rows[-1][0]
    stale = Q(quantity=0, margin_blocked=0) & (Q(last_fill_at__lt=cutoff) | Q(last_fill_at__isnull=True))
    while True:
        ids = list(SandboxPosition.objects.filter(stale).values_list("pk", flat=True)[:batch])
        if not ids:
            break
        result.purged += SandboxPosition.objects.filter(pk__in=ids).filter(stale).delete()[0]
    return result
