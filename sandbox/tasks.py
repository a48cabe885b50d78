"""Celery tasks of the sandbox. Each is idempotent (work is claimed under row locks or by filters that
a second run finds empty), works in bounded batches, and returns a one-line summary."""
from __future__ import annotations

import logging

from celery import shared_task

from sandbox.models import GROUP_EXCHANGES
from sandbox.services import matching, reset, settlement, snapshots, squareoff
from sandbox.services.config import get_config

log = logging.getLogger(__name__)


def _done(summary: str) -> str:
    log.info(summary)
    return summary


@shared_task(name="sandbox.tasks.match_all", time_limit=55, soft_time_limit=50)
def match_all() -> str:
    """The safety net: match every instrument's resting orders against its stored price."""
    return _done(str(matching.sweep()))


@shared_task(name="sandbox.tasks.square_off")
def square_off(exchange_group: str) -> str:
    if exchange_group not in GROUP_EXCHANGES:
        return _done(f"sandbox square-off: unknown exchange group {exchange_group!r}")
    return _done(str(squareoff.square_off_group(exchange_group)))


@shared_task(name="sandbox.tasks.settle_cnc")
def settle_cnc() -> str:
    return _done(str(settlement.settle_cnc()))


@shared_task(name="sandbox.tasks.daily_pnl_snapshot")
def daily_pnl_snapshot() -> str:
    return _done(f"sandbox daily P&L: {snapshots.daily_snapshot()} sandboxes snapshotted")


@shared_task(name="sandbox.tasks.weekly_reset")
def weekly_reset() -> str:
    # The beat entry is disabled by default; the configuration flag guards a stray enable too.
    if not get_config().reset_enabled:
        return _done("sandbox weekly reset: disabled in the sandbox configuration, nothing done")
    return _done(f"sandbox weekly reset: {reset.reset_all()} sandboxes reset")
