"""Rate limits (429 with retry_after), the OpenAPI schema, and query counts of the hot read paths."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.factories import OrderFactory

pytestmark = pytest.mark.django_db

TINY = {"order": "100/second", "smart_order": "100/second", "api": "2/minute", "webhook": "100/minute",
        "login": "5/minute"}


@pytest.fixture
def tiny_limits(settings, rate_window):
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMITS = TINY


@pytest.mark.parametrize("path", ["funds", "orderbook", "quotes", "market/timings", "analyzer"])
def test_v1_read_endpoints_answer_429_with_retry_after(owner, tiny_limits, path):
    body = {"symbol": "SBIN", "exchange": "NSE", "date": "2026-01-27"}
    assert owner.v1(path, body).status_code == 200
    assert owner.v1(path, body).status_code == 200
    response = owner.v1(path, body)
    assert response.status_code == 429
    payload = response.json()
    assert payload["status"] == "error"
    assert 1 <= payload["retry_after"] <= 60


def test_v1_limits_are_per_key(owner, other, tiny_limits):
    for _ in range(2):
        owner.v1("funds")
    assert owner.v1("funds").status_code == 429
    assert other.v1("funds").status_code == 200


@pytest.mark.parametrize("path", ["orders/", "accounts/", "instruments/", "calendar/holidays/"])
def test_resource_api_answers_429_with_retry_after(owner, tiny_limits, path):
    assert owner.get(path).status_code == 200
    assert owner.get(path).status_code == 200
    response = owner.get(path)
    assert response.status_code == 429
    assert 1 <= response.json()["retry_after"] <= 60
    assert response["Retry-After"]


def test_the_schema_validates_without_warnings(market):
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    for path in ("/api/orders/", "/api/orders/{id}/cancel/", "/api/accounts/{id}/", "/api/pending-orders/{id}/approve/",
                 "/api/instruments/", "/api/calendar/status/", "/api/holdings/", "/api/positions/", "/api/trades/"):
        assert f"{path}:" in schema, path
    assert "\n  /api/v1/" not in schema  # OpenAlgo's API is OpenAlgo's contract, outside this schema
    assert "ApiKeyAuth" in schema
    assert "credentials:" in schema  # documented for writing


def test_the_schema_and_docs_are_served(owner):
    assert owner.client.get("/api/schema/", HTTP_X_API_KEY=owner.key).status_code == 200
    owner.client.force_login(owner.user)
    assert owner.client.get("/api/docs/").status_code == 200


def count_queries(call) -> int:
    call()  # warm the key and analyze-mode caches: the steady state is what a busy client sees
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert response.status_code == 200
    return len(ctx.captured_queries)


def place(owner, n: int) -> None:
    for _ in range(n):
        assert owner.v1("placeorder", {"strategy": "t", "exchange": "NSE", "symbol": "SBIN", "action": "BUY",
                                       "quantity": "1"}).status_code == 200


def test_orderbook_queries_are_few_and_do_not_grow_with_orders(owner):
    place(owner, 2)
    few = count_queries(lambda: owner.v1("orderbook"))
    place(owner, 8)
    assert count_queries(lambda: owner.v1("orderbook")) == few
    # The sandbox's order book: the key (with its user row) and analyze mode come from the cache.
    assert few == 1


def test_orders_list_queries_are_few_and_do_not_grow_with_orders(owner):
    for _ in range(3):
        OrderFactory(user=owner.user)
    few = count_queries(lambda: owner.get("orders/"))
    for _ in range(20):
        OrderFactory(user=owner.user)
    assert count_queries(lambda: owner.get("orders/")) == few
    assert few == 1  # one page of orders (the user row is cached with the key)
