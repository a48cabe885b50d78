"""Personas of the API tests: the owner, another trader and an operator, each with an API key.

The market has SBIN (NSE) and a NIFTY future (NFO) priced in the sandbox, so analyze-mode requests
read real sandbox books. Rate limits are off except in the tests that set a tiny one.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import OrderMode, User
from accounts.services import apikeys
from accounts.services.usersettings import set_analyze_mode
from tests.api.factories import InstrumentFactory
from tests.factories import StaffFactory, UserFactory


@dataclass
class Persona:
    user: User
    key: str
    client: APIClient

    def v1(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any):
        """POST to /api/v1/ with the key in the body, as OpenAlgo clients send it."""
        return self.client.post(f"/api/v1/{path}", {"apikey": self.key, **(body or {})}, format="json", **kwargs)

    def get(self, path: str, params: dict[str, Any] | None = None):
        return self.client.get(f"/api/{path}", params or {}, HTTP_X_API_KEY=self.key)

    def post(self, path: str, body: dict[str, Any] | None = None):
        return self.client.post(f"/api/{path}", body or {}, format="json", HTTP_X_API_KEY=self.key)

    def patch(self, path: str, body: dict[str, Any]):
        return self.client.patch(f"/api/{path}", body, format="json", HTTP_X_API_KEY=self.key)

    def put(self, path: str, body: dict[str, Any]):
        return self.client.put(f"/api/{path}", body, format="json", HTTP_X_API_KEY=self.key)

    def delete(self, path: str):
        return self.client.delete(f"/api/{path}", HTTP_X_API_KEY=self.key)


def persona(user: User, *, analyze: bool = True, mode: str = OrderMode.AUTO) -> Persona:
    if analyze:
        set_analyze_mode(user, True)
    _, raw = apikeys.create_key(user, f"key-{mode}", mode)
    return Persona(user=user, key=raw, client=APIClient())


def session(user: User, *, second_factor: bool = True) -> APIClient:
    """A person's browser session: signed in and, unless told not, verified by a second factor."""
    from tests.accounts.conftest import sign_in
    from tests.factories import enrolled

    return sign_in(APIClient(), user, enrolled(user) if second_factor else None)


@pytest.fixture(autouse=True)
def _api_test_settings(settings):
    settings.RATE_LIMITS_ENABLED = False
    settings.ENFORCE_MARKET_HOURS = False


@pytest.fixture
def market(db):
    """SBIN at 800 (bid 799.95, ask 800.05) and NIFTY30DEC26FUT at 24000, with the sandbox's MIS
    cut-off at the end of the day so tests do not depend on the hour they run at."""
    from sandbox.models import SandboxConfig
    from sandbox.services.config import forget_config
    from sandbox.services.prices import set_price

    late = dt.time(23, 59, 59)
    SandboxConfig.objects.update_or_create(pk=1, defaults={
        "squareoff_nse": late, "squareoff_cds": late, "squareoff_mcx": late, "squareoff_ncdex": late})
    forget_config()
    sbin = InstrumentFactory(exchange="NSE", symbol="SBIN", name="STATE BANK OF INDIA", lot_size=1,
                             tick_size=Decimal("0.05"))
    fut = InstrumentFactory(exchange="NFO", symbol="NIFTY30DEC26FUT", name="NIFTY", underlying="NIFTY",
                            instrument_type="FUT", expiry=dt.date(2026, 12, 30), lot_size=75,
                            tick_size=Decimal("0.10"))
    set_price("NSE", "SBIN", "800", bid="799.95", ask="800.05", bid_qty=120, ask_qty=80, volume=5000)
    set_price("NFO", "NIFTY30DEC26FUT", "24000", bid="23999.90", ask="24000.10")
    return {"SBIN": sbin, "FUT": fut}


@pytest.fixture
def owner(market) -> Persona:
    return persona(UserFactory())


@pytest.fixture
def other(market) -> Persona:
    return persona(UserFactory())


@pytest.fixture
def operator(market) -> Persona:
    return persona(StaffFactory())


@pytest.fixture
def intruders(other, operator) -> list[Persona]:
    """Everyone who must not see the owner's rows: another trader and an operator."""
    return [other, operator]
