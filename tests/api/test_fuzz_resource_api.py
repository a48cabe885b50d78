"""Schemathesis against /api/'s own OpenAPI schema (drf-spectacular's): no case may answer 5xx.

Every operation gets valid (positive) and invalid (negative) cases from the schema, with the owner's
key; path ids are sometimes the owner's real rows so the detail, update and action views run too.
Requests go through Django's test client in this process (the test's database transaction).
"""
from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.api.factories import (
    HoldingFactory,
    OrderFactory,
    PendingOrderFactory,
    PositionFactory,
    TradeFactory,
    TradingAccountFactory,
)
from tests.api.fuzz import assert_no_server_error, fuzz_settings

pytestmark = pytest.mark.django_db(databases="__all__")  # /api/analytics/api-logs/ reads the logs database


def _schema() -> schemathesis.BaseSchema:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(json.dumps(raw, default=str)))


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _flat(params: dict) -> list[tuple[str, str]]:
    """Query parameters as a client would send them: lists repeat the name; anything else is its text."""
    pairs = []
    for name, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item if isinstance(item, str) else json.dumps(item)))
    return pairs


def send(client, case, key: str):
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers={"X-API-KEY": key})
    url = urlsplit(kwargs["url"])
    query = urlencode(_flat(kwargs.get("params") or {}))
    body = json.dumps(kwargs["json"]) if "json" in kwargs else ""
    request = f"{kwargs['method']} {url.path}?{query} {body[:500]}"
    try:
        response = client.generic(kwargs["method"], url.path, body, content_type="application/json",
                                  QUERY_STRING=query, HTTP_X_API_KEY=key)
    except Exception as exc:  # the test client re-raises what the server would answer 500 to
        raise AssertionError(f"500 for {request}") from exc
    return response, request


@pytest.fixture
def rows(owner):
    """One row of each kind the owner can reach, so {id} paths can point at real ones."""
    account = TradingAccountFactory(user=owner.user, name="main")
    return {
        "/api/accounts/": account.pk,
        "/api/orders/": OrderFactory(user=owner.user, account=account).pk,
        "/api/pending-orders/": PendingOrderFactory(user=owner.user).pk,
        "/api/trades/": TradeFactory(user=owner.user).pk,
        "/api/positions/": PositionFactory(user=owner.user).pk,
        "/api/holdings/": HoldingFactory(user=owner.user).pk,
        "/api/instruments/": None,
    }


def _strategy(operation, rows: dict):
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    kwargs = {"media_type": "application/json"} if operation.body else {}
    choices = [operation.as_strategy(generation_mode=mode, **kwargs) for mode in modes]
    if "{id}" in operation.path:
        real = next((pk for prefix, pk in rows.items() if operation.path.startswith(prefix) and pk), None)
        if real is not None:
            choices += [operation.as_strategy(generation_mode=mode, path_parameters={"id": real}, **kwargs)
                        for mode in modes]
    return st.one_of(choices)


READS = [op for op in OPERATIONS if op.method.upper() == "GET"]
WRITES = [op for op in OPERATIONS if op.method.upper() != "GET"]


def fuzz(owner, rows: dict, operations: list, examples: int) -> None:
    """One set-up for many cases: the operation is drawn per case (about examples / len(operations) each)."""

    @fuzz_settings(examples=examples)
    @given(case=st.sampled_from(operations).flatmap(lambda operation: _strategy(operation, rows)))
    def run(case):
        response, request = send(owner.client, case, owner.key)
        assert_no_server_error(response, request)

    run()


def test_fuzz_resource_api_reads_never_answer_5xx(owner, rows):
    fuzz(owner, rows, READS, examples=150)


def test_fuzz_resource_api_writes_never_answer_5xx(owner, rows):
    fuzz(owner, rows, WRITES, examples=150)
