"""One order parser for every door: the same bad input gets the same message on /api/v1/placeorder, a
basket leg, a margin leg, /api/orders/ (in its own field names) and the sandbox; nothing is placed."""
from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.adapters.base import OrderRejected, OrderSpec
from trading.models import Order
from trading.resource_api.views import RESOURCE_NAMES

ORDER = {"strategy": "s", "exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1",
         "pricetype": "MARKET", "product": "MIS"}

CASES = [
    ({"quantity": "1.5"}, "quantity: must be a whole number."),
    ({"quantity": "0"}, "quantity: must be greater than 0."),
    ({"pricetype": "LIMIT"}, "price: is required (greater than 0) for LIMIT orders."),
    ({"pricetype": "SL", "price": "810"}, "trigger_price: is required (greater than 0) for SL orders."),
    ({"pricetype": "LIMIT", "price": "810.03"}, "price: must be a multiple of the tick size 0.05 of SBIN."),
    ({"quantity": "2", "disclosed_quantity": "3"}, "disclosed_quantity: must not exceed the quantity."),
]


def _resource_body(fields: dict) -> dict:
    """The same order in the resource API's own field names."""
    own = {RESOURCE_NAMES.get(k, k): v for k, v in {**ORDER, **fields}.items()}
    return {k: v for k, v in own.items() if k != "strategy"}


@pytest.mark.parametrize(("fields", "message"), CASES)
def test_every_door_answers_the_same_message(owner, fields, message):
    field, _, problem = message.partition(": ")
    assert owner.v1("placeorder", {**ORDER, **fields}).json() == {"status": "error", "message": message}
    basket = owner.v1("basketorder", {"strategy": "s", "orders": [ORDER, {**ORDER, **fields}]}).json()
    assert basket == {"status": "error", "message": f"orders[1].{message}"}
    margin = owner.v1("margin", {"positions": [{**ORDER, **fields}]}).json()
    assert margin == {"status": "error", "message": f"positions[0].{message}"}
    resource = owner.post("orders/", _resource_body(fields))
    assert resource.status_code == 400
    assert resource.json() == {RESOURCE_NAMES.get(field, field): [problem]}
    assert not Order.objects.exists()


def test_the_resource_api_names_its_own_fields_and_takes_json_numbers(owner):
    response = owner.post("orders/", {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": 1,
                                      "price_type": "STOP"})
    assert response.json() == {"price_type": ["must be one of MARKET, LIMIT, SL, SL-M (got 'STOP')."]}
    placed = owner.post("orders/", {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": 2,
                                    "price_type": "LIMIT", "price": 800.05})
    assert placed.status_code == 201, placed.json()
    order = Order.objects.get(pk=placed.json()["id"])
    assert (order.quantity, order.price, order.strategy) == (Decimal("2"), Decimal("800.05"), "api")


def test_the_sandbox_checks_with_the_same_parser(owner):
    from brokers.adapters.base import AdapterContext
    from sandbox.adapter import SandboxAdapter

    adapter = SandboxAdapter(AdapterContext(user_id=owner.user.pk))
    with pytest.raises(OrderRejected, match=r"^quantity: must be a whole number\.$"):
        adapter.place_order(OrderSpec("NSE", "SBIN", "BUY", Decimal("1.5")))
    with pytest.raises(OrderRejected, match=r"^price: is required \(greater than 0\) for LIMIT orders\.$"):
        adapter.place_order(OrderSpec("NSE", "SBIN", "BUY", Decimal("1"), "LIMIT"))
