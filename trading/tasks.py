"""Celery tasks of the trading app. Schedules live in the database (django-celery-beat, admin-editable)."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from trading.services import reconcile, sync


@shared_task(name="trading.tasks.sync_open_orders", time_limit=120, soft_time_limit=100)
def sync_open_orders() -> str:
    """Refresh live accounts' open orders from their brokers and book new fills (every minute or so)."""
    synced, changed, failed = sync.sync_all()
    return f"synced {synced} account(s), {changed} order(s) changed, {failed} account(s) failed"


@shared_task(name="trading.tasks.expire_pending_orders", time_limit=60)
def expire_pending_orders(max_age_hours: int = 24) -> str:
    expired = sync.expire_pending(timedelta(hours=max_age_hours))
    return f"expired {expired} pending order(s)"


@shared_task(name="trading.tasks.reconcile_unknown_orders", time_limit=120, soft_time_limit=100)
def reconcile_unknown_orders() -> str:
    """Settle orders awaiting confirmation (lost broker answers) against their brokers' order books."""
    return f"reconcile: {reconcile.reconcile_all()}"
