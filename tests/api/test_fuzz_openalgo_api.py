"""A hypothesis fuzz of /api/v1/'s order and data endpoints: no body may answer 5xx.

Each case starts from a valid body for the endpoint (so it reaches the deep checks), then drops fields,
replaces some with hostile values (wrong types, huge and tiny numbers, numbers as odd strings, control
characters, nested lists and objects), adds unknown fields, and sometimes splices raw JSON text no
encoder writes: a lone surrogate, a number that overflows to infinity, NaN, nesting 1,000 deep.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.api.fuzz import assert_no_server_error, fuzz_settings
from trading.models import Order, OrderStatus

pytestmark = pytest.mark.django_db

LEG = {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1", "pricetype": "MARKET",
       "product": "MIS", "price": "0", "trigger_price": "0", "disclosed_quantity": "0"}
ORDER = {"strategy": "fuzz", **LEG}
INSTRUMENT = {"symbol": "SBIN", "exchange": "NSE"}

# path -> a valid body ("ORDERID" is replaced by a real open order's id)
ENDPOINTS: dict[str, dict[str, Any]] = {
    "placeorder": {**ORDER, "client_order_id": "c1", "account": ""},
    "placesmartorder": {**ORDER, "position_size": "1"},
    "basketorder": {"strategy": "fuzz", "orders": [LEG, {**LEG, "action": "SELL"}]},
    "splitorder": {**ORDER, "quantity": "3", "splitsize": "2"},
    "modifyorder": {**ORDER, "orderid": "ORDERID", "pricetype": "LIMIT", "price": "700"},
    "cancelorder": {"strategy": "fuzz", "orderid": "ORDERID"},
    "cancelallorder": {"strategy": "fuzz", "strategy_only": True},
    "closeposition": {"strategy": "fuzz", "strategy_only": False},
    "orderstatus": {"strategy": "fuzz", "orderid": "ORDERID"},
    "openposition": {"strategy": "fuzz", "exchange": "NSE", "symbol": "SBIN", "product": "MIS"},
    "quotes": INSTRUMENT,
    "depth": INSTRUMENT,
    "multiquotes": {"symbols": [INSTRUMENT, {"symbol": "NIFTY30DEC26FUT", "exchange": "NFO"}]},
    "history": {**INSTRUMENT, "interval": "D", "start_date": "2026-01-01", "end_date": "2026-01-31"},
    "intervals": {},
    "symbol": INSTRUMENT,
    "search": {"query": "SBI", "exchange": "NSE"},
    "expiry": {"symbol": "NIFTY", "exchange": "NFO", "instrumenttype": "futures"},
    "margin": {"positions": [{**LEG, "pricetype": "LIMIT", "price": "800"}]},
    "funds": {},
    "orderbook": {},
    "tradebook": {},
    "positionbook": {},
    "holdings": {},
    "ping": {},
    "analyzer": {},
    "analyzer/toggle": {"mode": True},
    "market/holidays": {"year": 2026},
    "market/timings": {"date": "2026-01-27"},
}

ODD_TEXT = ["", " ", "0", "-1", "0.0000001", "1e999", "-1e999", "NaN", "Infinity", "1e-999", "0x10", "1_000",
            "१२", "٣", "9" * 40, "1.5", "-0", "+1", " 1 ", "SBIN", "sbin", "NSE", "NFO", "CRYPTO", "BUY", "sell",
            "MARKET", "SL-M", "LIMIT", "MIS", "CNC", "NRML", "true", "null", "2026-02-30", "9999-12-31",
            "0001-01-01", "D", "1m", "ORDERID", "a" * 300, "tab\there", "SBIN\n"]
# Text without control characters or surrogates: the parser refuses those (RAW brings them in).
TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=12)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(ODD_TEXT),
    TEXT,
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                      max_leaves=6)
# Raw JSON text spliced in for a value: what json.dumps never writes but a client may send.
RAW = ['"\\ud800"', '"a\\udc00b"', '"\\u0000"', '"x\\u001f"', "1e999", "-1e400", "NaN", "-Infinity",
       "1" * 5000, "0." + "0" * 400 + "1", "123456789012345678901234567890", "[" * 1000 + "]" * 1000,
       '{"a":' * 200 + "1" + "}" * 200]
PLACEHOLDER = "\x00raw\x00"
EXTRA_FIELDS = ["account", "client_order_id", "strategy_only", "position_size", "splitsize", "x"]


def mutate(data: st.DataObject, template: dict[str, Any]) -> dict[str, Any]:
    """The template with one to three changes (mostly one, so the others stay valid and the case goes deep):
    a field dropped, or a field (perhaps a new one) given a hostile value; lists of legs change inside."""
    body = dict(template)
    for _ in range(data.draw(st.sampled_from([1, 1, 1, 2, 3]))):
        field = data.draw(st.sampled_from(sorted(body) + EXTRA_FIELDS))
        value = body.get(field)
        legs = [i for i, leg in enumerate(value) if isinstance(leg, dict)] if isinstance(value, list) else []
        if legs and data.draw(st.booleans()):
            index = data.draw(st.sampled_from(legs))
            body[field] = [*value[:index], mutate(data, value[index]), *value[index + 1:]]
        elif field in body and data.draw(st.integers(0, 3)) == 0:
            del body[field]
        else:
            body[field] = data.draw(VALUES)
    return body


def encode(data: st.DataObject, body: Any, key: str) -> str:
    """The body as JSON text with the owner's key; one case in five has a raw snippet for one value."""
    if not isinstance(body, dict):
        return json.dumps(body)
    body = {"apikey": key, **body}
    if data.draw(st.integers(0, 4)):
        return json.dumps(body)
    body[data.draw(st.sampled_from(sorted(body)))] = PLACEHOLDER
    return json.dumps(body).replace(json.dumps(PLACEHOLDER), data.draw(st.sampled_from(RAW)), 1)


def open_order(owner) -> str:
    """The owner's open fuzz order, placed anew once a case has cancelled it (all of them, if the fuzz's
    own LIMIT orders have reached the open-orders limit)."""
    current = Order.objects.filter(user=owner.user, strategy="fuzz-open", status=OrderStatus.OPEN).first()
    if current is not None:
        return current.broker_order_id
    body = {**ORDER, "strategy": "fuzz-open", "pricetype": "LIMIT", "price": "700"}
    response = owner.v1("placeorder", body)
    if response.status_code != 200:
        owner.v1("cancelallorder", {})
        response = owner.v1("placeorder", body)
    assert response.status_code == 200, response.json()
    return response.json()["orderid"]


ORDER_PATHS = ["placeorder", "placesmartorder", "basketorder", "splitorder", "modifyorder", "cancelorder",
               "cancelallorder", "closeposition", "orderstatus", "openposition"]
DATA_PATHS = [path for path in ENDPOINTS if path not in ORDER_PATHS]


def fuzz(owner, paths: list[str], examples: int) -> None:
    """One set-up (the owner and the market) for many cases: the path is drawn per case. A case about an
    order gets a fresh open one (other cases cancel orders)."""

    @fuzz_settings(examples=examples)
    @given(data=st.data())
    def run(data):
        path = data.draw(st.sampled_from(paths))
        template = ENDPOINTS[path]
        if "ORDERID" in json.dumps(template):
            template = json.loads(json.dumps(template).replace("ORDERID", open_order(owner)))
        body = mutate(data, template) if data.draw(st.integers(0, 9)) else data.draw(VALUES)
        text = encode(data, body, owner.key)
        request = f"POST /api/v1/{path} {text[:500]}"
        try:
            response = owner.client.generic("POST", f"/api/v1/{path}", text, content_type="application/json")
        except Exception as exc:  # the test client re-raises what the server would answer 500 to
            raise AssertionError(f"500 for {request}") from exc
        assert_no_server_error(response, request)

    run()


def test_fuzz_openalgo_order_endpoints_never_answer_5xx(owner):
    fuzz(owner, ORDER_PATHS, examples=200)


def test_fuzz_openalgo_data_endpoints_never_answer_5xx(owner):
    open_order(owner)  # something in the books
    fuzz(owner, DATA_PATHS, examples=200)
