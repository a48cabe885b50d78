"""Helpers for the analytics tests: log rows are written by flushing the buffer in the test's transaction.

Tests that read or write log tables use `databases="__all__"`: the logs database is "logs" on SQLite and
with LOGS_DATABASE_URL, the default one on PostgreSQL without it (analytics.routers)."""
from __future__ import annotations

import pytest

from analytics import bans, buffer

# fixtures: SBIN priced in the sandbox; rate limits off, market hours not enforced (autouse)
from tests.api.conftest import _api_test_settings, market, owner  # noqa: F401

ALL = "__all__"
STRANGER = "203.0.113.7"  # TEST-NET-3: never loopback, never on an allow-list


def flush() -> int:
    return buffer.flush()


@pytest.fixture(autouse=True)
def _fresh_ban_state():
    bans._parsed = None
    yield
    bans._parsed = None
