"""The daily P&L snapshot: each sandbox's realized P&L of the day, open P&L and funds, one row a day."""
from __future__ import annotations

import datetime as dt

from sandbox.models import DailyPnL, SandboxFunds
from sandbox.services.books import open_pnl
from sandbox.services.money import ZERO, ist_date, now


def snapshot_user(funds: SandboxFunds, day: dt.date) -> DailyPnL:
    unrealized = open_pnl(funds.user_id)
    realized = funds.today_realized_pnl if funds.today == day else ZERO
    SandboxFunds.objects.filter(pk=funds.pk).update(unrealized_pnl=unrealized)
    row, _ = DailyPnL.objects.update_or_create(user_id=funds.user_id, date=day, defaults={
        "realized_pnl": realized, "unrealized_pnl": unrealized, "total_pnl": realized + unrealized,
        "available": funds.available, "used_margin": funds.used_margin,
        "portfolio_value": funds.available + funds.used_margin + unrealized})
    return row


def daily_snapshot(*, at: dt.datetime | None = None) -> int:
    """Snapshot every sandbox for the day of `at` (IST); rerunning the same day overwrites its rows."""
    day = ist_date(at or now())
    count = 0
    for funds in SandboxFunds.objects.order_by("id").iterator(chunk_size=500):
        snapshot_user(funds, day)
        count += 1
    return count
