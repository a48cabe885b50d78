"""Keep each strategy's square-off beat row in step with the strategy (connected in StrategiesConfig.ready)."""
from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from strategies.models import Strategy
from strategies.services import schedules


@receiver(post_save, sender=Strategy, dispatch_uid="strategies.square_off_schedule")
def strategy_saved(sender, instance: Strategy, raw: bool = False, **kwargs) -> None:
    if raw:  # loaddata: the fixture brings its own beat rows
        return
    transaction.on_commit(lambda: schedules.sync_square_off(instance))


@receiver(post_delete, sender=Strategy, dispatch_uid="strategies.square_off_schedule_drop")
def strategy_deleted(sender, instance: Strategy, **kwargs) -> None:
    strategy_id = instance.pk
    transaction.on_commit(lambda: schedules.drop_square_off(strategy_id))
