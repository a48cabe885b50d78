"""Celery tasks of strategies. The fan-out is idempotent (client_order_ids derived from the signal and the
deployment; outcomes unique per signal, deployment and leg), so a redelivered message places nothing
twice: acks_late lets a task that died with its worker run again."""
from __future__ import annotations

import logging

from celery import shared_task

from strategies.services import fanout

log = logging.getLogger(__name__)


@shared_task(name="strategies.tasks.fan_out", acks_late=True, time_limit=120, soft_time_limit=110)
def fan_out(signal_id: int) -> str:
    """One accepted signal: orders on every active deployment of its strategy (batches beyond the first
    are queued as place_batch)."""
    summary = fanout.fan_out(signal_id)
    log.info(summary)
    return summary


@shared_task(name="strategies.tasks.place_batch", acks_late=True, time_limit=120, soft_time_limit=110)
def place_batch(signal_id: int, deployment_ids: list[int]) -> str:
    summary = fanout.place_batch(signal_id, deployment_ids)
    log.info(summary)
    return summary
