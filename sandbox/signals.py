"""Keep the cached configuration and the beat schedules in step with the SandboxConfig row."""
from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from sandbox.models import SandboxConfig
from sandbox.services.config import forget_config
from sandbox.services.schedules import sync_from_config


@receiver(post_save, sender=SandboxConfig, dispatch_uid="sandbox_config_saved")
def config_saved(sender, instance: SandboxConfig, raw: bool = False, **kwargs) -> None:
    if raw:  # loaddata
        return
    forget_config()
    transaction.on_commit(forget_config)  # a reader may have cached the old row mid-transaction
    sync_from_config(instance)
