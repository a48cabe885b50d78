"""Every bad input to placeorder is a 400 naming the field; no payload at all can make it answer 500."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.trading.conftest import order
from trading.models import Order

pytestmark = pytest.mark.django_db

MISSING = object()

BAD_INPUTS = [
    # (field changes, the field the message must name)
    ({"strategy": MISSING}, "strategy"),
    ({"exchange": MISSING}, "exchange"),
    ({"exchange": "NYSE"}, "exchange"),
    ({"exchange": "NSE_INDEX", "symbol": "NIFTY"}, "exchange"),
    ({"exchange": 7}, "exchange"),
    ({"symbol": MISSING}, "symbol"),
    ({"symbol": ""}, "symbol"),
    ({"symbol": "NOSUCHSTOCK"}, "symbol"),
    ({"symbol": ["SBIN"]}, "symbol"),
    ({"symbol": "X" * 65}, "symbol"),
    ({"action": MISSING}, "action"),
    ({"action": "HOLD"}, "action"),
    ({"quantity": MISSING}, "quantity"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": -5}, "quantity"),
    ({"quantity": "ten"}, "quantity"),
    ({"quantity": "1.5"}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"quantity": "NaN"}, "quantity"),
    ({"quantity": "Infinity"}, "quantity"),
    ({"quantity": "1e40"}, "quantity"),
    ({"quantity": {"n": 1}}, "quantity"),
    ({"pricetype": "STOP"}, "pricetype"),
    ({"product": "BO"}, "product"),
    ({"pricetype": "LIMIT"}, "price"),
    ({"pricetype": "LIMIT", "price": "0"}, "price"),
    ({"pricetype": "LIMIT", "price": "800.03"}, "price"),  # tick 0.05
    ({"pricetype": "LIMIT", "price": "-1"}, "price"),
    ({"pricetype": "SL", "price": "800"}, "trigger_price"),
    ({"pricetype": "SL-M"}, "trigger_price"),
    ({"pricetype": "SL-M", "trigger_price": "799.99"}, "trigger_price"),
    ({"price": "1e12"}, "price"),
    ({"price": "0.0000001"}, "price"),
    ({"disclosed_quantity": "20"}, "disclosed_quantity"),
    ({"disclosed_quantity": "-1"}, "disclosed_quantity"),
    ({"client_order_id": "x" * 65}, "client_order_id"),
    ({"account": 12.5}, "account"),
    ({"exchange": "NFO", "symbol": "NIFTY30DEC26FUT", "quantity": "50"}, "quantity"),  # lot 75
]


@pytest.mark.parametrize(("changes", "field"), BAD_INPUTS, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_INPUTS)])
def test_it_rejects_bad_input_naming_the_field(trader, changes, field):
    body = order(**{k: v for k, v in changes.items() if v is not MISSING})
    for name, value in changes.items():
        if value is MISSING:
            body.pop(name)
    response = trader.post("placeorder", body)
    assert response.status_code == 400, response.json()
    payload = response.json()
    assert payload["status"] == "error"
    assert payload["message"].startswith(f"{field}:"), payload["message"]
    assert not Order.objects.exists()  # bad input is not an order: nothing recorded, nothing sent


def test_a_body_that_is_not_an_object_is_400(trader):
    response = trader.client.post("/api/v1/placeorder", [1, 2], format="json", HTTP_X_API_KEY=trader.key)
    assert response.status_code == 400
    response = trader.client.post("/api/v1/placeorder", "{not json", content_type="application/json",
                                  HTTP_X_API_KEY=trader.key)
    assert response.status_code == 400


def test_basket_errors_name_the_leg(trader):
    response = trader.post("basketorder", {"strategy": "s", "orders": [
        {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1"},
        {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "-1"}]})
    assert response.status_code == 400
    assert response.json()["message"].startswith("orders[1].quantity:")


# JSON cannot carry NaN or infinities as numbers; as strings they are in the table above.
values = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                   st.floats(allow_nan=False, allow_infinity=False),
                   st.text(max_size=30), st.sampled_from(["NSE", "NFO", "SBIN", "BUY", "sell", "LIMIT", "SL-M",
                                                          "MIS", "CNC", "10", "800.05", "0", "-1", "1e5"]),
                   st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
fields = st.sampled_from(["strategy", "exchange", "symbol", "action", "quantity", "pricetype", "product", "price",
                          "trigger_price", "disclosed_quantity", "client_order_id", "account", "position_size",
                          "splitsize", "orders", "orderid"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(fields, values, max_size=6),
       path=st.sampled_from(["placeorder", "placesmartorder", "splitorder", "basketorder", "modifyorder",
                             "cancelorder", "orderstatus", "openposition"]))
def test_no_payload_makes_an_order_endpoint_answer_500(trader, changes, path):
    response = trader.post(path, order(**changes))
    assert response.status_code < 500, (path, changes, response.json())
    assert response.json()["status"] in ("success", "error")
