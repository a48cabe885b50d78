"""Smart orders to a target position, baskets (BUY legs first) and splits under a parent order."""
from decimal import Decimal

import pytest

from sandbox.models import SandboxOrder
from tests.trading.conftest import order
from trading.models import Order, OrderKind, OrderStatus
from trading.services.smart import smart_delta, split_quantities
from trading.services.validation import OrderSpec

pytestmark = pytest.mark.django_db


def _position(trader) -> int:
    body = {"strategy": "s", "exchange": "NSE", "symbol": "SBIN", "product": "MIS"}
    return trader.post("openposition", body).json()["quantity"]


@pytest.mark.parametrize(("action", "quantity", "target", "current", "expected"), [
    ("BUY", 100, 100, -100, ("BUY", 200)),
    ("BUY", 100, 0, 0, ("BUY", 100)),
    ("SELL", 0, 0, 0, None),
    ("BUY", 10, 50, 50, None),
    ("SELL", 10, 0, 30, ("SELL", 30)),
    ("SELL", 10, -20, 30, ("SELL", 50)),
    ("BUY", 10, 0, -30, ("BUY", 30)),
])
def test_smart_delta_follows_openalgo(action, quantity, target, current, expected):
    spec = OrderSpec(exchange="NSE", symbol="SBIN", action=action, quantity=Decimal(quantity))
    got = smart_delta(spec, Decimal(target), Decimal(current))
    assert (got if got is None else (got[0], int(got[1]))) == expected


def test_a_smart_order_moves_the_position_to_the_target(trader):
    trader.post("placeorder", order(action="SELL", quantity="100"))
    assert _position(trader) == -100
    response = trader.post("placesmartorder", order(action="BUY", quantity="100", position_size="100"))
    assert response.status_code == 200, response.json()
    placed = Order.objects.get(broker_order_id=response.json()["orderid"])
    assert (placed.action, placed.quantity) == ("BUY", 200)
    assert _position(trader) == 100


def test_a_matched_position_places_nothing(trader):
    trader.post("placeorder", order(quantity="10"))
    response = trader.post("placesmartorder", order(quantity="10", position_size="10"))
    assert response.json() == {"status": "success", "message": "Positions Already Matched. No Action needed.",
                               "mode": "analyze"}
    assert SandboxOrder.objects.count() == 1


def test_a_basket_sends_buy_legs_before_sell_legs(trader):
    from accounts.services.risk import update_risk_settings

    update_risk_settings(trader.user, max_order_value=Decimal("0"))  # 0 turns the check off
    legs = [order(action="SELL", quantity="1"), order(action="BUY", quantity="2"),
            order(exchange="NFO", symbol="NIFTY30DEC26FUT", action="BUY", quantity="75", product="NRML")]
    for leg in legs:
        leg.pop("strategy")
    response = trader.post("basketorder", {"strategy": "basket", "orders": legs})
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [(r["symbol"], r["status"]) for r in results] == [
        ("SBIN", "success"), ("NIFTY30DEC26FUT", "success"), ("SBIN", "success")]
    sent = list(SandboxOrder.objects.order_by("id").values_list("action", flat=True))
    assert sent == ["BUY", "BUY", "SELL"]
    assert set(Order.objects.values_list("strategy", flat=True)) == {"basket"}


def test_a_basket_reports_a_refused_leg_and_places_the_others(trader):
    from accounts.services.risk import update_risk_settings

    update_risk_settings(trader.user, max_order_value=Decimal("1000000"))
    legs = [{"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1"},
            {"exchange": "NFO", "symbol": "NIFTY30DEC26FUT", "action": "BUY", "quantity": "750", "product": "NRML"}]
    results = trader.post("basketorder", {"strategy": "b", "orders": legs}).json()["results"]
    assert results[0]["status"] == "success"
    assert results[1]["status"] == "error"
    assert "exceeds the limit" in results[1]["message"]


def test_a_basket_hangs_its_legs_under_a_parent_that_is_never_counted_as_sent(trader):
    from accounts.services.risk import update_risk_settings

    # Two orders a day: the two legs fit only if the parent is not counted (nor open while they are checked).
    update_risk_settings(trader.user, max_order_value=Decimal("0"), max_orders_per_day=2, max_open_orders=2)
    legs = [{"exchange": "NSE", "symbol": "SBIN", "action": "SELL", "quantity": "1"},
            {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1"}]
    results = trader.post("basketorder", {"strategy": "b", "orders": legs}).json()["results"]
    assert [r["status"] for r in results] == ["success", "success"]
    parent = Order.objects.get(kind=OrderKind.BASKET)
    assert (parent.status, parent.strategy, parent.is_analyze, parent.parent_id) == (
        OrderStatus.COMPLETE, "b", True, None)
    assert sorted(parent.children.values_list("broker_order_id", flat=True)) == sorted(r["orderid"] for r in results)
    assert parent.events.get().message == "Basket of 2 orders; 2 placed."
    assert not SandboxOrder.objects.filter(symbol="BASKET").exists()  # never sent anywhere


def test_a_basket_with_no_leg_accepted_is_rejected_with_its_legs_under_it(trader):
    from accounts.services.risk import update_risk_settings

    update_risk_settings(trader.user, max_order_value=Decimal("1"))
    legs = [{"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1"}] * 2
    results = trader.post("basketorder", {"strategy": "b", "orders": legs}).json()["results"]
    assert [r["status"] for r in results] == ["error", "error"]
    parent = Order.objects.get(kind=OrderKind.BASKET)
    assert parent.status == OrderStatus.REJECTED
    assert parent.children.filter(status=OrderStatus.REJECTED).count() == 2


def test_split_quantities():
    assert split_quantities(Decimal(105), Decimal(50)) == [50, 50, 5]
    assert split_quantities(Decimal(100), Decimal(50)) == [50, 50]


def test_a_split_order_makes_children_under_a_parent(trader):
    response = trader.post("splitorder", order(quantity="105", splitsize="50"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["total_quantity"] == 105
    assert body["split_size"] == 50
    assert [(r["order_num"], r["quantity"], r["status"]) for r in body["results"]] == [
        (1, 50, "success"), (2, 50, "success"), (3, 5, "success")]
    parent = Order.objects.get(parent__isnull=True)
    assert parent.quantity == 105
    assert parent.status == OrderStatus.COMPLETE
    assert parent.kind == OrderKind.SPLIT
    children = list(parent.children.order_by("id"))
    assert [c.broker_order_id for c in children] == [r["orderid"] for r in body["results"]]
    assert SandboxOrder.objects.count() == 3
    assert _position(trader) == 105


def test_a_split_may_not_make_more_than_100_orders(trader):
    response = trader.post("splitorder", order(quantity="101", splitsize="1"))
    assert response.status_code == 400
    assert response.json()["message"].startswith("splitsize:")
    assert trader.post("splitorder", order(quantity="100", splitsize="1", pricetype="LIMIT",
                                           price="700")).status_code == 400  # 100 open > max_open_orders 50


def test_a_split_with_a_client_order_id_is_idempotent(trader):
    first = trader.post("splitorder", order(quantity="20", splitsize="10", client_order_id="sp1")).json()
    again = trader.post("splitorder", order(quantity="20", splitsize="10", client_order_id="sp1")).json()
    assert again["results"] == first["results"]
    assert SandboxOrder.objects.count() == 2


def test_cancel_all_and_close_position_limited_to_one_strategy(trader):
    trader.post("placeorder", order(strategy="alpha", quantity="5"))
    trader.post("placeorder", order(strategy="beta", quantity="7"))
    rest_alpha = trader.post("placeorder", order(strategy="alpha", pricetype="LIMIT", price="700")).json()["orderid"]
    rest_beta = trader.post("placeorder", order(strategy="beta", pricetype="LIMIT", price="700")).json()["orderid"]
    cancelled = trader.post("cancelallorder", {"strategy": "alpha", "strategy_only": True}).json()
    assert cancelled["canceled_orders"] == [rest_alpha]
    assert SandboxOrder.objects.get(order_id=rest_beta).status == OrderStatus.OPEN
    closed = trader.post("closeposition", {"strategy": "alpha", "strategy_only": True})
    assert closed.json()["message"] == "All Open Positions Squared Off"
    assert _position(trader) == 7  # only alpha's 5 were closed
    everything = trader.post("cancelallorder", {"strategy": "x"}).json()
    assert everything["canceled_orders"] == [rest_beta]
    assert everything["message"] == "Canceled 1 orders. Failed to cancel 0 orders."
    trader.post("closeposition", {"strategy": "x"})
    assert _position(trader) == 0


def test_the_kill_switch_stops_square_offs_too(trader):
    # Only the kill switch and the calendar apply to square-offs; the switch means "send nothing".
    from accounts.services.risk import update_risk_settings

    trader.post("placeorder", order(quantity="5"))
    update_risk_settings(trader.user, trading_enabled=False)
    response = trader.post("closeposition", {"strategy": "s"})
    assert response.status_code == 400
    assert "kill switch" in response.json()["message"]
    assert _position(trader) == 5


def test_a_basket_leg_failing_after_another_was_placed_is_reported_not_a_500(trader, monkeypatch):
    """A client that retries a 500 would place the placed legs again: the answer says what was placed."""
    from sandbox.adapter import SandboxAdapter

    place = SandboxAdapter.place_order
    calls = []

    def second_leg_breaks(self, request):
        calls.append(request)
        if len(calls) == 2:
            raise RuntimeError("a fault nobody expected")
        return place(self, request)

    monkeypatch.setattr(SandboxAdapter, "place_order", second_leg_breaks)
    legs = [{"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1"},
            {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "2"}]
    response = trader.post("basketorder", {"strategy": "b", "orders": legs})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["success", "error"]
    assert "Internal error" in results[1]["message"]
    assert SandboxOrder.objects.count() == 1
    assert Order.objects.get(broker_order_id=results[0]["orderid"]).status == OrderStatus.COMPLETE


def test_a_basket_with_a_bad_leg_places_nothing(trader):
    """Every leg is validated, its account included, before any leg is placed."""
    legs = [{"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1"},
            {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "1", "account": "nope"}]
    response = trader.post("basketorder", {"strategy": "b", "orders": legs})
    assert response.status_code == 400
    assert response.json()["message"].startswith("account:")
    assert not SandboxOrder.objects.exists()
    assert not Order.objects.exists()
