"""Bodies that parse as JSON but may not enter the platform get a 400 naming the field, before any work.

A lone surrogate, NUL and other control characters, numbers that overflow to infinity, and deep nesting
(past the parser's stack too) are refused by the parser (core.parsers) on /api/v1/ in OpenAlgo's shape
and on /api/ in DRF's, with no query run and no traceback logged. Unknown /api/v1/ paths are a JSON 404
whatever the method, CSRF token or not.
"""
from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from analytics import bans

pytestmark = pytest.mark.django_db

ORDER = {"strategy": "s", "exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1",
         "pricetype": "MARKET", "product": "MIS"}


def post_raw(client, path: str, body: str, **headers):
    return client.generic("POST", path, body, content_type="application/json", **headers)


def assert_refused(response, message: str, *, openalgo: bool = True) -> None:
    assert response.status_code == 400, response.content
    if openalgo:
        assert response.json() == {"status": "error", "message": message}
    else:
        field, _, problem = message.partition(": ")
        assert response.json() == ({field: [problem]} if problem else {"detail": message})


@pytest.fixture
def no_traceback(caplog):
    caplog.set_level(logging.WARNING)
    yield
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text


BAD_STRINGS = [
    ('"\\ud800"', "is not valid Unicode (a lone surrogate)."),
    ('"ab\\udfffc"', "is not valid Unicode (a lone surrogate)."),
    ('"SB\\u0000IN"', "must not contain control characters (NUL)."),
    ('"SB\\u001bIN"', "must not contain control characters (U+001B)."),
]


@pytest.mark.parametrize(("value", "problem"), BAD_STRINGS)
@pytest.mark.parametrize("path", ["placeorder", "funds", "orderbook", "quotes"])
def test_v1_refuses_a_bad_string_anywhere_before_the_key_is_looked_up(owner, no_traceback, django_assert_num_queries,
                                                                       path, value, problem):
    bans.state()  # the ban list is cached (a cold cache loads it once, whatever the request)
    with django_assert_num_queries(0):
        response = post_raw(owner.client, f"/api/v1/{path}", f'{{"apikey": {value}}}')
    assert_refused(response, f"apikey: {problem}")


@pytest.mark.parametrize(("value", "problem"), BAD_STRINGS)
def test_resource_api_refuses_a_bad_string_in_drf_shape(owner, no_traceback, value, problem):
    response = post_raw(owner.client, "/api/orders/", f'{{"symbol": {value}}}', HTTP_X_API_KEY=owner.key)
    assert_refused(response, f"symbol: {problem}", openalgo=False)


def test_a_bad_key_in_an_object_is_refused_too(owner, no_traceback):
    response = post_raw(owner.client, "/api/v1/placeorder", f'{{"apikey": "{owner.key}", "a\\u0000": 1}}')
    assert_refused(response, "body: a key must not contain control characters (NUL).")


def test_the_field_is_named_by_its_path_in_the_body(owner, no_traceback):
    body = {"apikey": owner.key, "strategy": "s", "orders": [ORDER, {**ORDER, "symbol": "SB\x00IN"}]}
    response = post_raw(owner.client, "/api/v1/basketorder", json.dumps(body))
    assert_refused(response, "orders[1].symbol: must not contain control characters (NUL).")


def test_tabs_and_newlines_are_not_control_characters_here(owner):
    response = owner.v1("placeorder", {**ORDER, "strategy": "line one\nline\ttwo\r"})
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
@pytest.mark.parametrize("path", ["/api/v1/placeorder", "/api/orders/"])
def test_deep_nesting_is_refused(owner, no_traceback, path, depth):
    body = f'{{"apikey": "{owner.key}", "symbol": ' + "[" * depth + "]" * depth + "}"
    response = post_raw(owner.client, path, body, HTTP_X_API_KEY=owner.key)
    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()


def test_moderate_nesting_still_reaches_the_view(owner):
    body = {**ORDER, "symbol": [[[[["SBIN"]]]]]}
    response = owner.v1("placeorder", body)
    assert response.status_code == 400
    assert response.json()["message"].startswith("symbol:")


@pytest.mark.parametrize("number", ["1e999", "-1e400"])
def test_a_number_that_overflows_to_infinity_is_refused(owner, no_traceback, number):
    body = json.dumps({"apikey": owner.key, **ORDER})[:-1] + f', "price": {number}}}'
    assert_refused(post_raw(owner.client, "/api/v1/placeorder", body), "price: is not a finite number.")


# NUL in strategy, symbol, client_order_id or orderid was a 500 on PostgreSQL on every order route (CI runs
# this module on PostgreSQL too).
NUL_CASES = [
    ("placeorder", {**ORDER, "strategy": "s\x00"}, "strategy"),
    ("placeorder", {**ORDER, "symbol": "SBIN\x00"}, "symbol"),
    ("placeorder", {**ORDER, "client_order_id": "c\x00"}, "client_order_id"),
    ("placesmartorder", {**ORDER, "position_size": "1", "symbol": "\x00"}, "symbol"),
    ("splitorder", {**ORDER, "splitsize": "1", "client_order_id": "\x00"}, "client_order_id"),
    ("basketorder", {"strategy": "s\x00", "orders": [ORDER]}, "strategy"),
    ("orderstatus", {"strategy": "s", "orderid": "1\x00"}, "orderid"),
    ("cancelorder", {"strategy": "s", "orderid": "\x00"}, "orderid"),
    ("modifyorder", {**ORDER, "orderid": "x\x00", "price": "1", "disclosed_quantity": "0", "trigger_price": "0"},
     "orderid"),
    ("cancelallorder", {"strategy": "\x00"}, "strategy"),
    ("closeposition", {"strategy": "\x00"}, "strategy"),
    ("openposition", {**ORDER, "symbol": "\x00"}, "symbol"),
]


@pytest.mark.parametrize(("path", "body", "field"), NUL_CASES)
def test_nul_in_an_order_field_is_a_400_naming_it(owner, no_traceback, path, body, field):
    response = owner.v1(path, body)
    assert_refused(response, f"{field}: must not contain control characters (NUL).")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_an_unknown_v1_path_is_openalgos_json_404_for_any_method(owner, method):
    client = Client(enforce_csrf_checks=True)
    response = client.generic(method, "/api/v1/nosuchpath", json.dumps({"apikey": owner.key}),
                              content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"status": "error", "message": "Unknown API path /api/v1/nosuchpath"}


def test_an_unknown_v1_path_is_a_json_404_for_a_signed_in_browser_too(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner.user)
    response = client.post("/api/v1/", {})
    assert response.status_code == 404
    assert response.json()["status"] == "error"


@pytest.mark.parametrize("query", ["account_id=9.223372036854776e%2B18", "order_id=99999999999999999999",
                                   "account_id=1.5", "order_id=0"])
def test_an_id_filter_out_of_a_keys_range_is_a_400(owner, no_traceback, query):
    # Found by the fuzz: a 64-bit overflow in the database (OverflowError on SQLite, DataError on PostgreSQL).
    response = owner.client.get(f"/api/trades/?{query}", HTTP_X_API_KEY=owner.key)
    assert response.status_code == 400
    assert list(response.json()) == [query.split("=")[0]]


@pytest.mark.parametrize(("query", "found"), [
    ("date=0001-01-01", 0), ("date=9999-12-31", 0), ("placed_before=0403-12-21T14:01:25%2B17:09", 0),
    ("placed_after=9999-12-31T23:59:59-23:00", 0), ("placed_after=0001-01-01T00:00%2B01:00", 1),
    ("placed_before=0001-01-01T00:00%2B01:00", 0), ("placed_after=2000-01-01T00:00%2B17:30", 1),
])
def test_dates_at_the_calendars_ends_and_wide_offsets_filter_without_error(owner, no_traceback, query, found):
    # Found by the fuzz: an OverflowError computing the IST day, and PostgreSQL refusing an offset past 15:59.
    order = owner.v1("placeorder", ORDER).json()
    assert order["status"] == "success"
    response = owner.client.get(f"/api/orders/?{query}", HTTP_X_API_KEY=owner.key)
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == found
