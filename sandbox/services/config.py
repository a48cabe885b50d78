"""The sandbox configuration row, read through the shared cache (it is read on every order)."""
from __future__ import annotations

from django.core.cache import cache

from sandbox.models import SandboxConfig

CACHE_KEY = "sandbox:config"
CACHE_SECONDS = 300


def get_config() -> SandboxConfig:
    config = cache.get(CACHE_KEY)
    if config is None:
        config, _ = SandboxConfig.objects.get_or_create(pk=1)
        cache.set(CACHE_KEY, config, CACHE_SECONDS)
    return config


def forget_config() -> None:
    """Drop the cached row: every process reads the new values on its next order."""
    cache.delete(CACHE_KEY)
