"""Sandbox fixtures: a user's sandbox, instruments, and a fixed time of day inside market hours."""
from __future__ import annotations

import os

import pytest
from django.utils import timezone

from tests.sandbox.factories import InstrumentFactory, Sandbox, UserFactory, ist


@pytest.fixture(autouse=True)
def _private_cache(settings):
    """Prices live in the cache under shared names ("price:NSE:SBIN"); a suite running at the same time
    on the same var/test file cache would see ours and we theirs. Each run gets its own cache."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"sandbox-tests-{os.getpid()}"}}
    yield
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _mid_session(monkeypatch):
    """The clock stands at 10:00 IST on a trading day unless a test moves it (the MIS cut-off, the
    calendar, today's P&L and T+1 settlement all read it). Patched where everything reads it."""
    clock = {"at": ist(10, 0)}
    monkeypatch.setattr(timezone, "now", lambda: clock["at"])
    return clock


@pytest.fixture
def clock(_mid_session):
    return _mid_session


@pytest.fixture
def sbin(db):
    return InstrumentFactory(exchange="NSE", symbol="SBIN", tick_size="0.05", lot_size=1)


@pytest.fixture
def sandbox(db, sbin):
    return Sandbox(UserFactory())


@pytest.fixture
def other_sandbox(db, sbin):
    return Sandbox(UserFactory())
