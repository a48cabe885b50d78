"""Daily rollups of realized P&L: each closed trading day summed once per user, strategy tag and mode.

A closed day's fills never change (they are stamped when they happen), so beat rolls each day once, an
hour after it ended (ROLL_DELAY); analytics.services.pnl then reads rolled days from PnlRollup (a small
indexed table) and only the rest from the books. Without it, a chart of two weeks would sum a few hundred
thousand ledger rows on every cold read.
"""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from analytics.models import PnlRollup, PnlRollupDay
from analytics.services import pnl
from sandbox.models import FundsLedger
from trading.models import PositionHistory

#: A day is rolled this long after it ended (a fill stamped at 23:59:59 has committed by then).
ROLL_DELAY = dt.timedelta(minutes=15)
#: How far back the first runs fill in.
BACKFILL_DAYS = 400


def roll_day(day: dt.date) -> int:
    """(Re)compute one trading day's rollups; returns the rows written. Idempotent: the day's rows are
    replaced in one transaction, serialized on the day's PnlRollupDay row."""
    rows = pnl.from_books(day, day)
    with transaction.atomic():
        marker, _ = PnlRollupDay.objects.select_for_update().get_or_create(day=day)
        PnlRollup.objects.filter(day=day).delete()
        PnlRollup.objects.bulk_create([PnlRollup(day=r.day, user_id=r.user_id, strategy=r.strategy, mode=r.mode,
                                                 realized=r.realized) for r in rows], batch_size=500)
        marker.rows, marker.rolled_at = len(rows), timezone.now()
        marker.save(update_fields=["rows", "rolled_at"])
    return len(rows)


def days_to_roll(now: dt.datetime | None = None, limit: int = 31) -> list[dt.date]:
    """Closed days (ended ROLL_DELAY ago) from the first fill's, within BACKFILL_DAYS, not rolled yet; the
    latest first, at most `limit`."""
    last = pnl.today((now or timezone.now()) - ROLL_DELAY) - dt.timedelta(days=1)
    firsts = [moment for moment in (FundsLedger.objects.aggregate(first=Min("created_at"))["first"],
                                    PositionHistory.objects.aggregate(first=Min("created_at"))["first"]) if moment]
    if not firsts:
        return []
    first = max(pnl.today(min(firsts)), last - dt.timedelta(days=BACKFILL_DAYS - 1))
    done = set(PnlRollupDay.objects.filter(day__gte=first, day__lte=last).values_list("day", flat=True))
    days, day = [], last
    while day >= first and len(days) < limit:
        if day not in done:
            days.append(day)
        day -= dt.timedelta(days=1)
    return days
